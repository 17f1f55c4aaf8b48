"""The engine's vectorised exp, Sigmoid, QuickGELU and Softmax against float64 NumPy, over the
whole float range including the edges: overflow, underflow, infinities and NaN.

Tolerance: 4e-7 relative (about 3 ulp) where the result is a normal float; where it is
subnormal (e^x for x < -87.34), within 1.2e-38 absolute."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import goal

TINY = np.finfo(np.float32).tiny


def graph(tmp_path, op, **attributes):
    node = helper.make_node(op, ["x"], ["y"], **attributes)
    model = helper.make_model(
        helper.make_graph([node], op, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])]),
        opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{op}.onnx"
    onnx.save(model, path)
    return goal.Graph(path, threads=2)


def inputs():
    rng = np.random.default_rng(0)
    edges = [-np.inf, -200, -104, -103.9, -100, -90, -87.4, -87.3, -50, -1, -1e-8, 0, 1e-8, 0.5, 1, 10, 50,
             88, 88.37, 88.5, 88.72, 88.73, 100, np.inf]
    # Odd lengths exercise the tails of the vector loops.
    return np.concatenate([np.array(edges), rng.uniform(-90, 90, 10001), rng.standard_normal(997)]).astype(np.float32)


def check(got, expected):
    # What float32 can hold: beyond its largest value the right answer is inf.
    with np.errstate(over="ignore"):
        expected = expected.astype(np.float32).astype(np.float64)
    got = got.astype(np.float64)
    same_special = (np.isnan(got) == np.isnan(expected)) & ((got == expected) | ~np.isinf(expected))
    assert same_special.all(), (got[~same_special], expected[~same_special])
    finite = np.isfinite(expected)
    normal = finite & (np.abs(expected) >= TINY)
    relative = np.abs(got[normal] - expected[normal]) / np.abs(expected[normal])
    assert relative.max() <= 4e-7, relative.max()
    assert np.abs(got[finite & ~normal] - expected[finite & ~normal]).max(initial=0) <= 1.2e-38


def test_exp(tmp_path):
    x = inputs()
    with np.errstate(over="ignore"):
        check(graph(tmp_path, "Exp").run({"x": x})["y"], np.exp(x.astype(np.float64)))
    nan = graph(tmp_path, "Exp").run({"x": np.array([np.nan], np.float32)})["y"]
    assert np.isnan(nan).all()


def test_sigmoid(tmp_path):
    x = inputs()
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-x.astype(np.float64)))
    check(graph(tmp_path, "Sigmoid").run({"x": x})["y"], expected)


@pytest.mark.parametrize("n", [1, 7, 8, 50, 77, 1000])
def test_softmax_rows(tmp_path, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((13, n)) * 20).astype(np.float32)
    x[3, :] = -np.inf if n > 1 else 0
    x[3, 0] = 5
    node = helper.make_node("Softmax", ["x"], ["y"], axis=-1)
    model = helper.make_model(
        helper.make_graph([node], "s", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [13, n])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [13, n])]),
        opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "s.onnx")
    got = goal.Graph(tmp_path / "s.onnx").run({"x": x})["y"].astype(np.float64)
    e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    expected = e / e.sum(1, keepdims=True)
    assert np.abs(got - expected).max() <= 1e-6
