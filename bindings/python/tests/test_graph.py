"""goal.Graph against the onnx package's reading of the same files: our fixtures from every
exporter, and models made by others (shipped inside the onnx and onnxruntime wheels)."""

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import numpy_helper

import goal
from conftest import FIXTURES, manifest
from reference import graph_signature, signature

FIXTURE_NAMES = [entry["name"] for entry in manifest()]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_signature_matches_onnx(name):
    path = FIXTURES / "models" / name / "model.onnx"
    with goal.Graph(path) as graph:
        assert graph_signature(graph) == signature(path)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_signature_matches_onnxruntime(name):
    # onnxruntime is the engine users already run; its view of the inputs must be ours.
    path = FIXTURES / "models" / name / "model.onnx"
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with goal.Graph(path) as graph:
        assert [v.name for v in graph.inputs] == [i.name for i in session.get_inputs()]
        assert [v.name for v in graph.outputs] == [o.name for o in session.get_outputs()]
        for ours, theirs in zip(graph.inputs, session.get_inputs()):
            assert ours.shape == tuple(theirs.shape)


def test_dynamo_exports_load_with_a_note():
    dynamo = [e for e in manifest() if e["exporter"] == "dynamo"]
    assert dynamo, "the fixtures must include dynamo exports"
    for entry in dynamo:
        with goal.Graph(FIXTURES / "models" / entry["name"] / "model.onnx") as graph:
            assert graph.ir_version >= 10
            assert any("IR version" in note for note in graph.diagnostics)


def test_external_data_and_fp16_fixtures_exist():
    kinds = {(e.get("external_data") is not None, e.get("weights_dtype")) for e in manifest()}
    assert any(external for external, _ in kinds)
    assert any(dtype == "float16" for _, dtype in kinds)


def _foreign_models():
    onnx_data = Path(onnx.__file__).parent / "backend" / "test" / "data"
    ort_data = Path(onnxruntime.__file__).parent / "datasets"
    return sorted(onnx_data.glob("*/*/model.onnx")) + sorted(ort_data.glob("*.onnx"))


def _stored_case(path):
    """The inputs and expected outputs the onnx project ships next to a backend-test model."""
    folder = path.parent / "test_data_set_0"
    if not folder.is_dir():
        return None

    def tensors(prefix):
        found = []
        for file in sorted(folder.glob(f"{prefix}_*.pb"), key=lambda f: int(f.stem.split("_")[1])):
            tensor = onnx.TensorProto()
            tensor.ParseFromString(file.read_bytes())
            found.append(numpy_helper.to_array(tensor))
        return found

    return tensors("input"), tensors("output")


def test_models_made_by_others():
    """Old and odd exports that we did not make: each opens with the reference signature and, where
    the onnx project ships test data for it, computes the outputs stored with it; or it is refused
    at open as unsupported (an operator outside the set, an opset the converter cannot lift) or
    invalid (libonnx's checker)."""
    paths = _foreign_models()
    assert len(paths) > 50
    opened, computed, refused = 0, 0, []
    for path in paths:
        try:
            graph = goal.Graph(path)
        except (goal.UnsupportedError, goal.InvalidModelError) as error:
            assert str(error), path
            refused.append(path)
            continue
        with graph:
            assert graph_signature(graph) == signature(path), path
            opened += 1
            case = _stored_case(path)
            if case is None:
                continue
            inputs, expected = case
            if any(x.dtype == np.float64 for x in inputs + expected):
                continue  # libgoal computes float64 graphs in float32, by design
            outputs = graph.run({v.name: x for v, x in zip(graph.inputs, inputs)})
            for value, want in zip(graph.outputs, expected):
                np.testing.assert_allclose(outputs[value.name], want, rtol=1e-3, atol=1e-5, err_msg=str(path))
            computed += 1
    assert opened >= 0.5 * len(paths), f"only {opened} of {len(paths)} opened"
    assert computed >= 0.8 * opened, f"only {computed} of {opened} had test data"


@pytest.mark.parametrize("residual_shape", [(5, 24), (24,), (3, 1, 24)], ids=["same", "row", "broadcast-up"])
def test_residual_add_after_a_product_matches_onnxruntime(tmp_path, residual_shape):
    """MatMul + bias + r fuses into one product that adds r as it stores (r of the product's
    shape) or adds it after (r that the Add broadcasts, even to a larger result)."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(11)
    weight = rng.standard_normal((40, 24), dtype=np.float32)
    bias = rng.standard_normal(24, dtype=np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["p"]), helper.make_node("Add", ["p", "b"], ["q"]),
             helper.make_node("Add", ["r", "q"], ["y"])]
    graph = helper.make_graph(nodes, "residual",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 40]),
                               helper.make_tensor_value_info("r", TensorProto.FLOAT, list(residual_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    path = tmp_path / "residual.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    feeds = {"x": rng.standard_normal((5, 40), dtype=np.float32),
             "r": rng.standard_normal(residual_shape, dtype=np.float32)}
    expected = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    for fuse in (True, False):
        with goal.Graph(path, fuse=fuse) as g:
            got = g.run(feeds)["y"]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=f"fuse={fuse}")
