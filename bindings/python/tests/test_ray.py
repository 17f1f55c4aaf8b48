"""examples/python/ray_encode.py on a local Ray instance (ray.init(num_cpus=2)): Ray Data's
map_batches with one goal.Model per actor must encode every image exactly once, record the
unreadable one, and give the single-process embeddings (within 1e-6: Ray's batches are not the
library's), in a folder `goal index build` accepts."""

import importlib.util
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import goal
from goal import collection
from conftest import FIXTURES, REPO

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[data]'; see tools/requirements-test.txt)")

# Ray Data's own configuration warns about its deprecated settings when it is read.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = str(FIXTURES / "folders" / "hf_248_dynamo")
EXAMPLE = REPO / "examples" / "python" / "ray_encode.py"


def load_example():
    spec = importlib.util.spec_from_file_location("ray_encode", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def local_ray():
    # The workers import goal (and ray_encode, for the pickled ImageEncoder class) and load
    # libgoal.so as this process does.
    paths = [str(REPO / "bindings" / "python"), str(EXAMPLE.parent)]
    env = {"PYTHONPATH": os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    if "GOAL_LIBRARY" in os.environ:
        env["GOAL_LIBRARY"] = os.path.abspath(os.environ["GOAL_LIBRARY"])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    try:
        from ray.data import DataContext
        DataContext.get_current().enable_progress_bars = False
    except Exception:
        pass
    yield ray
    ray.shutdown()


def test_ray_encodes_every_image_once_as_one_process_does(local_ray, tmp_path):
    example = load_example()
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(7)
    for i in range(23):
        pixels = rng.integers(0, 256, size=(24 + i, 40 - i, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / ("sub" if i % 4 == 0 else "") / f"p{i:02d}.{'jpg' if i % 2 else 'png'}")
    shutil.copy(FIXTURES / "images" / "truncated.png", root / "sub" / "broken.png")
    files = collection.list_images(str(root))
    paths = [str(root / f) for f in files]

    rows, errors, counts, workers = example.encode_with_ray(MODEL, paths, workers=2, batch_size=5)

    assert counts.tolist() == [1] * len(paths)  # every image came back, exactly once
    assert [f for f, e in zip(files, errors) if e is not None] == ["sub/broken.png"]
    good = [i for i, e in enumerate(errors) if e is None]
    with goal.Model(MODEL) as model:
        single, single_errors = collection.encode_images(model, paths, 16)
    assert [e is None for e in single_errors] == [e is None for e in errors]
    assert rows.dtype == np.float32 and rows.shape == (24, 16)
    assert np.max(np.abs(rows[good] - single[good])) <= 1e-6
    assert 1 <= len(workers) <= 2

    # The same folder layout as goal encode-dir, which goal index build reads.
    out = tmp_path / "out"
    manifest = example.write_encode_dir(str(out), MODEL, str(root), files, rows, errors, shard_size=10)
    assert [e[0] for e in manifest["files"]] == files
    metas = [collection.done_shard(str(out), manifest, i) for i in range(3)]
    assert all(metas) and sum(len(m["encoded"]) for m in metas) == 23
