"""goal.Graph against the onnx package's reading of the same files: our fixtures from every
exporter, and models made by others (shipped inside the onnx and onnxruntime wheels)."""

import os
from pathlib import Path

import onnx
import onnxruntime
import pytest

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


def test_models_made_by_others():
    """Old and odd exports that we did not make: each opens with the reference signature, or is
    refused as unsupported (an opset the converter cannot lift) or invalid (libonnx's checker)."""
    paths = _foreign_models()
    assert len(paths) > 50
    opened, refused = 0, []
    for path in paths:
        try:
            with goal.Graph(path) as graph:
                assert graph_signature(graph) == signature(path), path
                opened += 1
        except (goal.UnsupportedError, goal.InvalidModelError) as error:
            assert str(error), path
            refused.append(path)
    assert opened >= 0.85 * len(paths), f"only {opened} of {len(paths)} opened"
    # What the checker refused opens when the caller turns the checker off.
    for path in refused:
        try:
            goal.Graph(path, check=False).close()
        except goal.UnsupportedError:
            pass
