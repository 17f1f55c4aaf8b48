"""Whole-model parity on the committed fixtures: against the PyTorch outputs stored with them,
and against onnxruntime run here on the same file at batch sizes 1, 3 and 16.

Tolerances: float32 fixtures must match with a relative error (max |diff| / max |ref|) of at most
1e-4 on every output and a cosine of at least 0.99999 on embeddings. The float16 fixture computes
in float16 in PyTorch and onnxruntime but in float32 here, so it is held to 1e-2 relative."""

import numpy as np
import onnxruntime
import pytest

import goal
from conftest import FIXTURES, manifest

ENTRIES = {entry["name"]: entry for entry in manifest()}
EMBEDDINGS = {"text_embeds", "image_embeds", "text_features", "image_features"}


def relative_error(actual, expected) -> float:
    actual, expected = actual.astype(np.float64), expected.astype(np.float64)
    return float(np.abs(actual - expected).max() / max(np.abs(expected).max(), 1e-30))


def cosine_min(actual, expected) -> float:
    a = actual.astype(np.float64).reshape(actual.shape[0], -1)
    b = expected.astype(np.float64).reshape(expected.shape[0], -1)
    return float((np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).min())


def tolerance(entry) -> float:
    return 1e-2 if entry["weights_dtype"] == "float16" else 1e-4


def assert_close(name, outputs, expected, entry):
    assert set(outputs) == set(expected), name
    for key, reference in expected.items():
        got = outputs[key]
        assert got.shape == reference.shape, (name, key)
        assert got.dtype == reference.dtype, (name, key)
        error = relative_error(got, reference)
        assert error <= tolerance(entry), f"{name}/{key}: relative error {error:.2e}"
        if key in EMBEDDINGS and entry["weights_dtype"] != "float16":
            assert cosine_min(got, reference) >= 0.99999, f"{name}/{key}"


def model_path(name):
    return FIXTURES / "models" / name / "model.onnx"


def reference(name):
    data = np.load(FIXTURES / "models" / name / "reference.npz")
    entry = ENTRIES[name]
    feeds = {i["name"]: data[i["name"]] for i in entry["inputs"]}
    expected = {o["name"]: data[o["name"]] for o in entry["outputs"]}
    return feeds, expected


def batch_of(feeds, size):
    """`size` rows cycled from the reference inputs, so every row is a real caption or image."""
    return {k: np.concatenate([v] * ((size + len(v) - 1) // len(v)))[:size] for k, v in feeds.items()}


@pytest.fixture(scope="module")
def graphs():
    opened = {}
    yield lambda name, fuse=True: opened.setdefault((name, fuse), goal.Graph(model_path(name), fuse=fuse))
    for graph in opened.values():
        graph.close()


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_matches_pytorch(graphs, name):
    feeds, expected = reference(name)
    assert_close(name, graphs(name).run(feeds), expected, ENTRIES[name])


@pytest.mark.parametrize("batch", [1, 3, 16])
@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_matches_onnxruntime(graphs, name, batch):
    feeds, _ = reference(name)
    feeds = batch_of(feeds, batch)
    session = onnxruntime.InferenceSession(str(model_path(name)), providers=["CPUExecutionProvider"])
    expected = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    assert_close(name, graphs(name).run(feeds), expected, ENTRIES[name])


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_fused_equals_unfused(graphs, name):
    feeds, _ = reference(name)
    fused, plain = graphs(name, True).run(feeds), graphs(name, False).run(feeds)
    for key in fused:
        assert relative_error(fused[key], plain[key]) <= 1e-5, key


def test_intermediate_values_by_name(graphs):
    """A token state that is not a graph output, read by name, equals onnxruntime's value for the
    same tensor (made a graph output in a copy of the model)."""
    import onnx

    name = "hf_text_ts"
    model = onnx.load(str(model_path(name)))
    layer_norms = [n for n in model.graph.node if n.op_type == "LayerNormalization"]
    wanted = layer_norms[0].output[0]
    model.graph.output.append(onnx.helper.make_empty_tensor_value_info(wanted))
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds, _ = reference(name)
    (theirs,) = session.run([wanted], feeds)
    ours = graphs(name).run(feeds, outputs=[wanted, "text_embeds"])
    assert list(ours) == [wanted, "text_embeds"]
    assert relative_error(ours[wanted], theirs) <= 1e-5


def test_threads_option_gives_the_same_results():
    feeds, expected = reference("hf_vision_ts")
    with goal.Graph(model_path("hf_vision_ts"), threads=1) as one, goal.Graph(model_path("hf_vision_ts"), threads=2) as two:
        a, b = one.run(feeds), two.run(feeds)
    for key in a:
        assert relative_error(a[key], b[key]) <= 1e-6


@pytest.mark.parametrize("batch", [1, 3])
def test_decomposed_layer_norm_pattern(batch):
    """LayerNorm spelled out in nine ops (opset 14): fused, unfused and onnxruntime agree."""
    path = FIXTURES / "patterns" / "layernorm_decomposed.onnx"
    x = np.random.default_rng(batch).normal(4, 2, (batch, 5, 8)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    with goal.Graph(path) as fused, goal.Graph(path, fuse=False) as plain:
        a, b = fused.run({"x": x})["z"], plain.run({"x": x})["z"]
    assert relative_error(a, expected) <= 1e-5
    assert relative_error(b, expected) <= 1e-5
    assert relative_error(a, b) <= 1e-5


def test_one_graph_run_from_many_threads_at_once():
    """goal.h: a graph may be run from any number of threads at once. ctypes drops the GIL during
    the call, so these runs overlap in the library; each must equal the same run done alone."""
    from concurrent.futures import ThreadPoolExecutor

    text_feeds, _ = reference("hf_text_ts")
    image_feeds, _ = reference("hf_vision_ts")
    jobs = [("hf_text_ts", batch_of(text_feeds, b)) for b in (1, 2, 3, 5)] + \
           [("hf_vision_ts", batch_of(image_feeds, b)) for b in (1, 2, 4)]
    with goal.Graph(model_path("hf_text_ts")) as text, goal.Graph(model_path("hf_vision_ts")) as vision:
        graphs = {"hf_text_ts": text, "hf_vision_ts": vision}
        alone = [graphs[name].run(feeds) for name, feeds in jobs]
        with ThreadPoolExecutor(max_workers=8) as pool:
            together = list(pool.map(lambda job: graphs[job[0]].run(job[1]), jobs * 4))
    for i, outputs in enumerate(together):
        expected = alone[i % len(jobs)]
        for key in expected:
            assert np.array_equal(outputs[key], expected[key]), (jobs[i % len(jobs)][0], key)


FOLDER_TOWERS = [("hf_ts", "text_model.onnx", "text"), ("hf_ts", "vision_model.onnx", "vision"),
                 ("hf_248_dynamo", "text_model.onnx", "text"), ("hf_248_dynamo", "vision_model.onnx", "vision"),
                 ("openclip_immich", "textual/model.onnx", "text"), ("openclip_immich", "visual/model.onnx", "vision")]


@pytest.mark.parametrize("folder,file,tower", FOLDER_TOWERS, ids=lambda v: str(v))
def test_folder_towers_match_pytorch(folder, file, tower):
    """The towers of the model-folder fixtures (real 49408-token vocabulary, 77 and 248 positions,
    HF and immich layouts) against the PyTorch outputs stored with them."""
    data = np.load(FIXTURES / "folders" / folder / "reference.npz")
    with goal.Graph(FIXTURES / "folders" / folder / file) as graph:
        feeds = {v.name: data[v.name] for v in graph.inputs}
        outputs = graph.run(feeds)
    for name, value in outputs.items():
        expected = data[f"{tower}.{name}"]
        assert relative_error(value, expected) <= 1e-4, name
