"""`goal eval`, `goal encode-dir`, `goal index build` and `goal search`, run as users run them: in a
subprocess, on the fixture model folders, with datasets and image folders made in tmp_path.

What they report and write must be what goal.Model, goal.Index and goal.rerank give for the same
inputs; encode-dir must resume after a kill without redoing a finished shard and end with the
files an uninterrupted run writes."""

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import goal
from cli_run import failed, run, succeeded
from conftest import FIXTURES, REPO
from goal import collection
from goal.retrieval import recalls

MODEL = str(FIXTURES / "folders" / "hf_248_dynamo")
OTHER_MODEL = str(FIXTURES / "folders" / "hf_ts")
IMAGES = FIXTURES / "images"

sys.path.insert(0, str(REPO / "tools"))
from world import scenes  # noqa: E402


@pytest.fixture(scope="module")
def model():
    with goal.Model(MODEL) as m:
        yield m


def world_dataset(folder, n=12, layout="jsonl"):
    """n synthetic scenes (tools/world) as PNGs in folder/images and a dataset file beside them."""
    (folder / "images").mkdir(parents=True)
    records = []
    for i, scene in enumerate(scenes.generate(3, n, size=64)):
        scene.image.save(folder / "images" / f"{i:03d}.png")
        records.append({"image": f"images/{i:03d}.png", "caption": scene.caption})
    if layout == "jsonl":
        path = folder / "data.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    else:  # a JSON list with the other key names
        path = folder / "data.json"
        path.write_text(json.dumps([{"file_name": r["image"], "text": r["caption"]} for r in records]))
    return path, records


# ---- goal eval ----------------------------------------------------------------------------------

def expected_recalls(model, records, folder, ks, candidates=None, weight=0.0):
    """The protocol computed here from goal.Model directly, rank by rank; local scores from the
    library's own late interaction (model.local_similarity)."""
    texts = model.encode_text([r["caption"] for r in records]).astype(np.float64)
    images = model.encode_image([str(folder / r["image"]) for r in records]).astype(np.float64)
    s = texts @ images.T
    out = {}
    for name, matrix in (("text_to_image", s), ("image_to_text", s.T)):
        ranks = []
        for q in range(len(matrix)):
            order = list(np.argsort(-matrix[q], kind="stable"))
            if candidates:
                top = order[:candidates]
                local = [model.local_similarity(records[q if name == "text_to_image" else j]["caption"],
                                                str(folder / records[j if name == "text_to_image" else q]["image"]))
                         for j in top]
                final = [(1 - weight) * matrix[q, j] + weight * l for j, l in zip(top, local)]
                order = [top[i] for i in np.argsort(-np.array(final), kind="stable")] + order[candidates:]
            ranks.append(order.index(q))
        out[name] = recalls(np.array(ranks), ks)
    return out


def test_eval_reports_the_protocol_reranks_and_caches(model, tmp_path):
    path, records = world_dataset(tmp_path / "world")
    cache, report_path = tmp_path / "cache", tmp_path / "report.json"
    args = ["eval", MODEL, path, "--k", 1, 5, 25, "--rerank", "late", "--candidates", 4, "--weight", 0, 0.7,
            "--cache", cache, "--json", report_path]
    out = succeeded(run(*args)).stdout.decode()
    report = json.loads(report_path.read_text())
    ks = [1, 5, 25]
    folder = tmp_path / "world"
    assert report["metrics"]["global"] == expected_recalls(model, records, folder, ks)
    zero, mixed = report["metrics"]["reranked"]
    assert zero["weight"] == 0.0 and mixed["weight"] == 0.7
    assert {d: zero[d] for d in ("text_to_image", "image_to_text")} == report["metrics"]["global"]
    expected = expected_recalls(model, records, folder, ks, candidates=4, weight=0.7)
    for direction in ("text_to_image", "image_to_text"):
        for k in ("R@1", "R@5"):
            assert mixed[direction][k] == pytest.approx(expected[direction][k]), (direction, k)
        assert mixed[direction]["R@25"] == report["metrics"]["global"][direction]["R@25"]  # beyond C: unchanged
    assert report["counts"] == {"captions": 12, "images": 12,
                                "candidates": {"text_to_image": 4, "image_to_text": 4}}
    assert report["k_clipped"] == {"text_to_image": {"R@25": 12}, "image_to_text": {"R@25": 12}}
    assert report["model"]["path"] == MODEL and report["model"]["dim"] == 16
    assert report["dataset"]["path"] == str(path)
    assert report["settings"]["rerank"]["method"] == "late" and report["settings"]["rerank"]["weights"] == [0.0, 0.7]
    assert set(report["timings"]) >= {"texts_seconds", "images_seconds", "late_features_seconds", "rerank_seconds",
                                      "total_seconds"}
    assert set(report["cache"]["files"].values()) == {"computed"}
    # The printed table holds the same figures.
    t2i = report["metrics"]["global"]["text_to_image"]
    assert "text->image   " + "".join(f"{t2i[k]:>9.2f}" for k in ("R@1", "R@5", "R@25")) in out
    assert "note: text->image: R@25 covers all 12 images (k clipped to 12)" in out
    assert "re-ranked: late, first 4 candidates, weight 0.7" in out

    # A rerun reads every array from the cache and reports the same figures.
    again = succeeded(run(*args)).stdout.decode()
    report2 = json.loads(report_path.read_text())
    assert report2["metrics"] == report["metrics"]
    assert set(report2["cache"]["files"].values()) == {"cached"}
    assert "(from the cache: texts, images, late-texts, late-images)" in again
    assert report2["cache"]["folder"].startswith(str(cache))

    # A changed image is another dataset: nothing is taken from the old cache entry.
    Image.new("RGB", (64, 64), (1, 2, 3)).save(folder / "images" / "000.png")
    report3 = json.loads((succeeded(run(*args)), report_path.read_text())[1])
    assert report3["cache"]["folder"] != report["cache"]["folder"]
    assert set(report3["cache"]["files"].values()) == {"computed"}


def test_eval_lism_on_a_json_list_without_cache(model, tmp_path):
    path, records = world_dataset(tmp_path / "world", n=6, layout="json")
    out = succeeded(run("eval", MODEL, path, "--rerank", "lism", "--candidates", 3, "--no-cache", "--k", 1, 2,
                        "--json", tmp_path / "r.json")).stdout.decode()
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["cache"]["folder"] is None
    assert report["metrics"]["global"] == expected_recalls(model, records, tmp_path / "world", [1, 2])
    assert report["metrics"]["reranked"][0]["method"] == "lism"
    assert "re-ranked: lism, first 3 candidates, weight 0.5" in out
    assert "note:" not in out  # k 1 and 2 are below 6


def test_eval_failures(tmp_path):
    path, _ = world_dataset(tmp_path / "world", n=4)
    os.unlink(tmp_path / "world" / "images" / "002.png")
    stderr = failed(run("eval", MODEL, path, "--no-cache"))
    assert stderr.startswith("goal: image 2: ") and "002.png" in stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"image": "a.png", "caption": "x"}\n{"image": "b.png"}\n')
    assert failed(run("eval", MODEL, bad, "--no-cache")) == f"goal: {bad} line 2: no caption " \
        '("caption", "text", "description", "captions"; a string or a list of strings)\n'
    for args in (["--weight", 2], ["--candidates", 0], ["--rerank", "filip"], ["--cache", "x", "--no-cache"]):
        assert "usage: goal eval" in failed(run("eval", MODEL, path, *args), status=2)


# ---- goal encode-dir ----------------------------------------------------------------------------

def image_folder(root, count=14):
    """count small images in nested folders, plus what must be left out or fail: a hidden image,
    a hidden folder, a text file, and an image that is cut short."""
    rng = np.random.default_rng(1)
    names = []
    for i in range(count):
        sub = ["", "a", "b/c"][i % 3]
        name = f"{sub}/img{i:02d}.{'png' if i % 2 else 'jpg'}".lstrip("/")
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(20 + i, 30 + 2 * i, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / name)
        names.append(name)
    shutil.copy(IMAGES / "truncated.jpg", root / "a" / "broken.JPG")
    names.append("a/broken.JPG")
    (root / ".hidden.png").write_bytes((root / names[1]).read_bytes())
    (root / ".git").mkdir()
    (root / ".git" / "x.png").write_bytes((root / names[1]).read_bytes())
    (root / "notes.txt").write_text("not an image")
    return sorted(names, key=lambda n: n.split("/"))


def test_encode_dir_writes_shards_of_the_bindings_embeddings(model, tmp_path):
    root, out = tmp_path / "photos", tmp_path / "out"
    root.mkdir()
    names = image_folder(root)
    result = succeeded(run("encode-dir", MODEL, root, "-o", out, "--shard-size", 4, "--batch-size", 3))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "goal-encode-dir" and manifest["dim"] == 16 and manifest["shard_size"] == 4
    assert [e[0] for e in manifest["files"]] == names == collection.list_images(str(root))
    assert manifest["root"] == str(root) and manifest["count"] == 15
    assert sorted(os.listdir(out)) == ["manifest.json"] + [f"shard-0000{i}.{s}" for i in range(4) for s in ("json", "npy")]
    rows, encoded, errors = [], [], []
    for i in range(4):
        meta = json.loads((out / f"shard-0000{i}.json").read_text())
        assert meta["files"] == names[4 * i:4 * i + 4]
        array = np.load(out / f"shard-0000{i}.npy")
        assert array.dtype == np.float32 and array.shape == (len(meta["encoded"]), 16)
        rows.append(array)
        encoded += meta["encoded"]
        errors += meta["errors"]
    assert [e["file"] for e in errors] == ["a/broken.JPG"] and "cut short" in errors[0]["error"]
    assert encoded == [n for n in names if n != "a/broken.JPG"]
    expected = np.concatenate([model.encode_image([str(root / n)]) for n in encoded])
    assert np.allclose(np.concatenate(rows), expected, atol=1e-6)
    stderr = result.stderr.decode()
    assert "goal: a/broken.JPG: " in stderr
    assert "15 images in 4 shards of 4: 4 written now, 0 done before; 14 encoded, 1 unreadable" in stderr


def shard_stats(out):
    return {name: (os.stat(out / name).st_ino, os.stat(out / name).st_mtime_ns)
            for name in os.listdir(out) if name.startswith("shard-")}


def test_encode_dir_resumes_after_a_kill_without_redoing_shards(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    image_folder(root, count=20)
    whole, out = tmp_path / "whole", tmp_path / "out"
    succeeded(run("encode-dir", MODEL, root, "-o", whole, "--shard-size", 3, "-q"))

    # The test hook SIGKILLs the run right after its second shard is on disk.
    killed = run("encode-dir", MODEL, root, "-o", out, "--shard-size", 3, env={collection.KILL_AFTER_ENV: "2"})
    assert killed.returncode == -signal.SIGKILL
    assert sorted(n for n in os.listdir(out) if n.endswith(".npy")) == ["shard-00000.npy", "shard-00001.npy"]
    before = shard_stats(out)
    # What a kill in the middle of a write leaves: a temporary file, and a .json without its .npy.
    (out / ".shard-00002.npy.x1y2.tmp").write_bytes(b"partial")
    shutil.copy(whole / "shard-00002.json", out / "shard-00002.json")

    stderr = succeeded(run("encode-dir", MODEL, root, "-o", out)).stderr.decode()
    assert "21 images in 7 shards of 3: 5 written now, 2 done before; 20 encoded, 1 unreadable" in stderr
    after = shard_stats(out)
    for name in ("shard-00000.npy", "shard-00000.json", "shard-00001.npy", "shard-00001.json"):
        assert after[name] == before[name], f"{name} was written again"
    assert not (out / ".shard-00002.npy.x1y2.tmp").exists()
    assert sorted(os.listdir(out)) == sorted(os.listdir(whole))
    for name in os.listdir(whole):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name

    # Done: a further run writes nothing.
    stderr = succeeded(run("encode-dir", MODEL, root, "-o", out)).stderr.decode()
    assert "0 written now, 7 done before" in stderr and shard_stats(out) == after


def test_encode_dir_refuses_a_changed_folder_or_another_model(tmp_path):
    root, out = tmp_path / "photos", tmp_path / "out"
    root.mkdir()
    image_folder(root, count=6)
    succeeded(run("encode-dir", MODEL, root, "-o", out, "--shard-size", 4, "-q"))
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}

    stderr = failed(run("encode-dir", OTHER_MODEL, root, "-o", out))
    assert f"{out} was encoded with another model" in stderr and "give another OUT" in stderr

    Image.new("RGB", (8, 8)).save(root / "new.png")
    os.unlink(root / "img00.jpg")
    stderr = failed(run("encode-dir", MODEL, root, "-o", out))
    assert f"goal: {root} has changed since {out} was started: 1 added (new.png); 1 removed (img00.jpg)" in stderr
    os.unlink(root / "new.png")
    shutil.copy(root / "img03.png", root / "img00.jpg")  # back, but another file
    assert "1 changed (img00.jpg)" in failed(run("encode-dir", MODEL, root, "-o", out))

    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "file").write_text("x")
    assert "not empty and has no manifest.json" in failed(run("encode-dir", MODEL, root, "-o", tmp_path / "stuff"))
    assert "no .jpg, .jpeg or .png" in failed(run("encode-dir", MODEL, tmp_path / "stuff", "-o", tmp_path / "o2"))


# ---- goal index build, goal search --------------------------------------------------------------

def test_index_build_and_search(model, tmp_path):
    root, out, index_path = tmp_path / "photos", tmp_path / "out", tmp_path / "photos.goalindex"
    root.mkdir()
    names = image_folder(root, count=9)
    succeeded(run("encode-dir", MODEL, root, "-o", out, "--shard-size", 4, "-q"))
    stderr = succeeded(run("index", "build", out, "-o", index_path)).stderr.decode()
    assert "9 images of 16 dims from 3 shards (1 unreadable left out)" in stderr
    sidecar = json.loads((tmp_path / "photos.goalindex.json").read_text())
    encoded = [n for n in names if n != "a/broken.JPG"]
    assert sidecar["paths"] == encoded and sidecar["root"] == str(root) and sidecar["count"] == 9
    with goal.Index.load(index_path) as index:
        assert len(index) == 9 and index.dim == 16
        caption = "A red circle in the top left. A small blue square below it."
        scores, ids = index.search(model.encode_text([caption]), 5)

    lines = succeeded(run("search", MODEL, index_path, caption, "-k", 5)).stdout.decode().splitlines()
    assert lines == [f"{r + 1:>4}  {float(scores[0, r]):.4f}  {root / encoded[ids[0, r]]}" for r in range(5)]

    printed = json.loads(succeeded(run("search", MODEL, index_path, caption, "-k", 3, "--rerank", "late",
                                       "--candidates", 6, "--weight", 0.6, "--json")).stdout)
    s6, i6 = index_search(index_path, model.encode_text([caption]), 6)
    expected = goal.rerank(model, caption, [str(root / encoded[i]) for i in i6], s6, method="late", weight=0.6, ids=i6)
    assert [r["id"] for r in printed["results"]] == expected.ids[:3].tolist()
    assert [r["score"] for r in printed["results"]] == pytest.approx(expected.scores[:3].tolist(), abs=1e-12)
    assert printed["rerank"] == {"method": "late", "candidates": 6, "weight": 0.6}

    # Weight 0 keeps the index's order; k beyond the candidates keeps the rest in global order.
    kept = json.loads(succeeded(run("search", MODEL, index_path, caption, "-k", 9, "--rerank", "lism",
                                    "--candidates", 4, "--weight", 0, "--json")).stdout)
    s9, i9 = index_search(index_path, model.encode_text([caption]), 9)
    assert [r["id"] for r in kept["results"]] == i9.tolist()
    assert [r["local"] is None for r in kept["results"]] == [False] * 4 + [True] * 5

    # Image -> image: the query image is its own best match.
    query = root / encoded[4]
    first = json.loads(succeeded(run("search", MODEL, index_path, "--image", query, "-k", 1, "--json")).stdout)
    assert first["results"][0]["id"] == 4 and first["results"][0]["score"] == pytest.approx(1.0, abs=1e-6)


def index_search(path, query, k):
    with goal.Index.load(path) as index:
        scores, ids = index.search(query, k)
    return scores[0].astype(np.float64), ids[0]


def test_index_build_and_search_failures(tmp_path):
    root, out = tmp_path / "photos", tmp_path / "out"
    root.mkdir()
    image_folder(root, count=8)
    run("encode-dir", MODEL, root, "-o", out, "--shard-size", 3, env={collection.KILL_AFTER_ENV: "1"})
    stderr = failed(run("index", "build", out, "-o", tmp_path / "i.goalindex"))
    assert "2 of 3 shards are not done (shard-00001.npy, shard-00002.npy); run goal encode-dir again" in stderr
    assert not (tmp_path / "i.goalindex").exists()
    assert "no manifest.json" in failed(run("index", "build", tmp_path, "-o", tmp_path / "i.goalindex"))
    succeeded(run("encode-dir", MODEL, root, "-o", out, "-q"))
    succeeded(run("index", "build", out, "-o", tmp_path / "i.goalindex", "-q"))
    assert "usage: goal search" in failed(run("search", MODEL, tmp_path / "i.goalindex"), status=2)
    assert "--rerank needs a caption" in failed(run("search", MODEL, tmp_path / "i.goalindex", "--image",
                                                    root / "img01.png", "--rerank", "late"), status=2)
    os.unlink(tmp_path / "i.goalindex.json")
    assert "i.goalindex.json: missing" in failed(run("search", MODEL, tmp_path / "i.goalindex", "a cat"))


def test_the_search_collection_example_runs(tmp_path):
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "bindings" / "python"),
                                                              environment.get("PYTHONPATH")]))
    command = [sys.executable, str(REPO / "examples" / "python" / "search_collection.py"), MODEL,
               "--world", "8", "--negatives", "2", "-k", "3", "--candidates", "4", "--rerank", "lism"]
    result = subprocess.run(command, capture_output=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "10 images indexed (16 dims)" in out and "re-ranked (lism, first 4 candidates" in out
    assert "the caption's image: rank " in out


def test_eval_goes_on_when_the_cache_cannot_be_written(tmp_path):
    path, _ = world_dataset(tmp_path / "world", n=3)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would go")
    result = succeeded(run("eval", MODEL, path, "--cache", blocked, "--json", tmp_path / "r.json"))
    assert "goal: warning: the cache" in result.stderr.decode() and "going on without it" in result.stderr.decode()
    assert json.loads((tmp_path / "r.json").read_text())["cache"]["folder"] is None
