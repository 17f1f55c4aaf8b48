"""Operator parity with onnxruntime: every case in op_cases.py is a small ONNX model, saved to a
temporary file, run by onnxruntime (CPU) and by goal.Graph, and compared output by output: same
names, dtypes and shapes, values equal (ints, bools, data movement) or within the tolerance the
case states (op_cases.EXACT / SIMPLE / TRANSC / ACCUM).

Then the run-time contract around the operators: an unsupported operator is refused at open with
its type and node name, bad feeds are refused with the input's name, intermediate values can be
asked for by name.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

import goal
import op_cases
from op_cases import ACCUM, SIMPLE, Case, build_model, case_model, f32, if_model

CASES = op_cases.all_cases()


def _session_options():
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return options


def ort_run(path, feeds, outputs=None) -> dict:
    session = onnxruntime.InferenceSession(str(path), _session_options(), providers=["CPUExecutionProvider"])
    names = outputs or [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def goal_run(path, feeds, outputs=None) -> dict:
    graph = goal.Graph(path)
    try:
        if outputs is None:
            return graph.run(feeds)
        return graph.run(feeds, outputs=outputs)
    finally:
        graph.close()


def compare(ours: dict, theirs: dict, rtol: float, atol: float, what: str = ""):
    assert sorted(ours) == sorted(theirs), f"{what}: output names"
    for name, expected in theirs.items():
        got = ours[name]
        assert isinstance(got, np.ndarray), f"{what}: {name} is {type(got).__name__}, not an ndarray"
        expected = np.asarray(expected)
        assert got.dtype == expected.dtype, f"{what}: {name} dtype {got.dtype}, onnxruntime {expected.dtype}"
        assert got.shape == expected.shape, f"{what}: {name} shape {got.shape}, onnxruntime {expected.shape}"
        if np.issubdtype(expected.dtype, np.floating) and (rtol or atol):
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=f"{what}: {name}")
        else:
            # Exact, NaN == NaN; bit-for-bit for floats apart from the sign of zero.
            np.testing.assert_array_equal(got, expected, err_msg=f"{what}: {name}")


@pytest.fixture
def check(tmp_path):
    """check(model_or_nodes, feeds, rtol, atol, opset, outputs=..., inits=...): builds the model
    (unless given one), saves it, runs onnxruntime and goal, compares every graph output."""
    counter = iter(range(1_000_000))

    def run(model_or_nodes, feeds, rtol=0.0, atol=0.0, opset=op_cases.DEFAULT_OPSET, *,
            outputs=("y",), inits=None, what="model"):
        if isinstance(model_or_nodes, onnx.ModelProto):
            model = model_or_nodes
        else:
            model = build_model(list(model_or_nodes), feeds, list(outputs), opset, inits)
        path = tmp_path / f"model{next(counter)}.onnx"
        onnx.save(model, str(path))
        expected = ort_run(path, feeds)
        got = goal_run(path, feeds)
        compare(got, expected, rtol, atol, what)
        return got

    return run


def _params(group):
    return [pytest.param(case, id=case.name) for case in CASES[group]]


def _check_case(check, case: Case):
    rtol, atol = case.tol
    check(case_model(case), case.feeds, rtol, atol, what=case.name)


# ---------------------------------------------------------------------------------------------
# One test per family of operators, one case per row of its table.

@pytest.mark.parametrize("case", _params("arithmetic"))
def test_arithmetic(check, case):
    """Add Sub Mul Div Pow Mod: broadcasting, rank-0, empty; int64 Div truncates, Mod signs."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("unary"))
def test_unary(check, case):
    """Sqrt Exp Log Neg Abs Erf Tanh Sigmoid Relu Gelu(opset 20)."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("clip_minmax"))
def test_clip_min_max(check, case):
    """Clip with bounds as inputs (omitted either way), variadic Min/Max with broadcasting."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("compare_logic"))
def test_compare_logic(check, case):
    """Equal Less LessOrEqual Greater GreaterOrEqual And Or Not IsNaN Where."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("cast"))
def test_cast(check, case):
    """Cast between float, int64, int32, bool and float16."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("matmul_gemm"))
def test_matmul_gemm(check, case):
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("conv_pool"))
def test_conv_pool(check, case):
    """Conv (1-D, 2-D, groups, depthwise, pads, strides, dilations, SAME_UPPER), MaxPool,
    AveragePool (count_include_pad, ceil_mode), GlobalAveragePool."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("norm_softmax"))
def test_norm_softmax(check, case):
    """BatchNormalization, LayerNormalization (opset 17), Softmax (opset 13 and 21)."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("reduce"))
def test_reduce(check, case):
    """ReduceMean/ReduceMax (axes attribute at 13, input at 18), ReduceSum, ArgMax, CumSum."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("shape_ops"))
def test_shape_ops(check, case):
    """Transpose Reshape Flatten Squeeze Unsqueeze Concat Split Slice Gather GatherND Expand Tile
    Shape Identity Trilu."""
    _check_case(check, case)


@pytest.mark.parametrize("case", _params("generators"))
def test_generators(check, case):
    """Constant, ConstantOfShape, Range."""
    _check_case(check, case)


@pytest.mark.parametrize("condition", [True, False])
def test_if_constant_condition(check, condition):
    """A Constant condition feeding If; each branch reads the outer-scope input differently."""
    model, feeds = if_model(condition)
    got = check(model, feeds, *SIMPLE, what=f"If-{condition}")
    x = feeds["x"]
    expected = x * 2 + x if condition else -np.exp(x) + x
    np.testing.assert_allclose(got["y"], expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# A few-node graph like an exporter's: shapes computed at run time feed Reshape, Expand, Range.

def test_shapes_computed_at_run_time(check):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape, and Range over a runtime dimension, as
    torch exporters emit them for dynamic axes."""
    zero = helper.make_tensor("zero", TensorProto.INT64, [], [0])
    one = helper.make_tensor("one", TensorProto.INT64, [], [1])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Constant", [], ["i0"], name="i0", value=zero),
        helper.make_node("Constant", [], ["i1"], name="i1", value=one),
        helper.make_node("Gather", ["shape", "i0"], ["batch"], name="batch", axis=0),
        helper.make_node("Gather", ["shape", "i1"], ["seq"], name="seq", axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes0"], ["batch1"], name="unsq"),
        helper.make_node("Concat", ["batch1", "minus1"], ["target"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
        helper.make_node("Range", ["i0", "seq", "i1"], ["positions"], name="range"),
        helper.make_node("Unsqueeze", ["positions", "axes0"], ["pos2"], name="unsq2"),
        helper.make_node("Shape", ["x"], ["shape2"], name="shape2", start=0, end=2),
        helper.make_node("Expand", ["pos2", "shape2"], ["y_pos"], name="expand"),
    ]
    inits = {"axes0": np.array([0], np.int64), "minus1": np.array([-1], np.int64)}
    feeds = {"x": f32(3, 5, 4)}
    model = build_model(nodes, feeds, ["flat", "y_pos"], 17, inits, symbolic={"x": {0: "batch", 1: "seq"}})
    check(model, feeds, what="dynamic-shapes")


def test_symbolic_dims_accept_any_size(tmp_path):
    """One Graph, run twice with different sizes along symbolic axes."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="matmul"),
             helper.make_node("Softmax", ["m"], ["y"], name="softmax", axis=-1)]
    w = f32(4, 6)
    model = build_model(nodes, {"x": f32(2, 3, 4)}, ["y"], 17, {"w": w},
                        symbolic={"x": {0: "batch", 1: "seq"}})
    path = tmp_path / "symbolic.onnx"
    onnx.save(model, str(path))
    with goal.Graph(path) as graph:
        for shape in [(1, 1, 4), (3, 7, 4), (2, 3, 4)]:
            feeds = {"x": f32(*shape)}
            compare(graph.run(feeds), ort_run(path, feeds), *ACCUM, what=str(shape))


# ---------------------------------------------------------------------------------------------
# Unsupported operators are refused at open.

def _unsupported_models():
    lstm = helper.make_node("LSTM", ["x", "w", "r"], ["y"], name="my_lstm_node", hidden_size=2)
    lstm_feeds = {"x": f32(3, 1, 4), "w": f32(1, 8, 4), "r": f32(1, 8, 2)}
    nms = helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["y"], name="my_nms_node")
    nms_feeds = {"boxes": f32(1, 5, 4), "scores": f32(1, 1, 5)}
    return [
        pytest.param("LSTM", "my_lstm_node", [lstm], lstm_feeds, id="LSTM"),
        pytest.param("NonMaxSuppression", "my_nms_node", [nms], nms_feeds, id="NonMaxSuppression"),
        pytest.param("FancyOp", "my_custom_node", None, {"x": f32(2, 3)}, id="custom-domain"),
    ]


@pytest.mark.parametrize("op_type,node_name,nodes,feeds", _unsupported_models())
def test_unsupported_operator_refused_at_open(tmp_path, op_type, node_name, nodes, feeds):
    if nodes is None:  # an operator of a custom domain
        node = helper.make_node(op_type, ["x"], ["y"], name=node_name, domain="com.example.custom")
        graph = helper.make_graph([node], "custom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("com.example.custom", 1)])
        model.ir_version = 8
    else:
        model = build_model(nodes, feeds, ["y"], 17)
        onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])  # a valid model
    path = tmp_path / "unsupported.onnx"
    onnx.save(model, str(path))
    with pytest.raises(goal.UnsupportedError) as raised:
        goal.Graph(path)
    message = str(raised.value)
    assert op_type in message, message
    assert node_name in message, message


# ---------------------------------------------------------------------------------------------
# Bad feeds are refused at run, naming the input.

@pytest.fixture
def two_input_graph(tmp_path):
    nodes = [helper.make_node("Add", ["pixel_values", "bias_term"], ["y"], name="add")]
    feeds = {"pixel_values": f32(2, 3), "bias_term": f32(2, 3)}
    model = build_model(nodes, feeds, ["y"], 17)
    path = tmp_path / "two_inputs.onnx"
    onnx.save(model, str(path))
    with goal.Graph(path) as graph:
        yield graph, feeds, path


def test_good_feeds_run(two_input_graph):
    graph, feeds, path = two_input_graph
    compare(graph.run(feeds), ort_run(path, feeds), *SIMPLE)


@pytest.mark.parametrize("bad,named", [
    pytest.param(lambda f: {"pixel_valuez": f["pixel_values"], "bias_term": f["bias_term"]},
                 ("pixel_valuez", "pixel_values"), id="wrong-name"),
    pytest.param(lambda f: {"bias_term": f["bias_term"]}, ("pixel_values",), id="missing"),
    pytest.param(lambda f: {**f, "pixel_values": f["pixel_values"].astype(np.int32)}, ("pixel_values",),
                 id="int32-for-float"),
    pytest.param(lambda f: {**f, "pixel_values": f["pixel_values"].astype(np.float64)}, ("pixel_values",),
                 id="float64-for-float"),
    pytest.param(lambda f: {**f, "pixel_values": f["pixel_values"].reshape(2, 3, 1)}, ("pixel_values",),
                 id="wrong-rank"),
    pytest.param(lambda f: {**f, "bias_term": f32(2, 4)}, ("bias_term",), id="wrong-fixed-dim"),
    pytest.param(lambda f: {**f, "bias_term": f32(3)}, ("bias_term",), id="broadcastable-but-wrong"),
])
def test_bad_feeds_refused(two_input_graph, bad, named):
    graph, feeds, _ = two_input_graph
    with pytest.raises(goal.InvalidArgumentError) as raised:
        graph.run(bad(feeds))
    message = str(raised.value)
    assert any(name in message for name in named), message
    # The graph stays usable after a refused run.
    assert graph.run(feeds)["y"].shape == (2, 3)


# ---------------------------------------------------------------------------------------------
# Asking for values by name.

_CHAIN_FEEDS = {"x": f32(2, 3, 4)}
_CHAIN_INITS = {"w": f32(4), "axes": np.array([-1], np.int64)}


def _chain(tmp_path, expose=()):
    """x -> Mul(w) -> "scaled" -> Relu -> "activated" -> ReduceSum -> "y" (and Shape -> "dims")."""
    nodes = [
        helper.make_node("Mul", ["x", "w"], ["scaled"], name="mul"),
        helper.make_node("Relu", ["scaled"], ["activated"], name="relu"),
        helper.make_node("ReduceSum", ["activated", "axes"], ["y"], name="sum", keepdims=0),
        helper.make_node("Shape", ["activated"], ["dims"], name="shape"),
    ]
    outputs = ["y", *expose]
    model = build_model(nodes, _CHAIN_FEEDS, outputs, 17, _CHAIN_INITS)
    path = tmp_path / ("chain_" + "_".join(outputs) + ".onnx")
    onnx.save(model, str(path))
    return path, _CHAIN_FEEDS


@pytest.mark.parametrize("wanted", [["activated"], ["scaled"], ["dims"], ["activated", "y"], ["y"],
                                    ["y", "scaled", "dims"]])
def test_intermediate_outputs_by_name(tmp_path, wanted):
    plain, feeds = _chain(tmp_path)
    exposed, _ = _chain(tmp_path, expose=[w for w in ("scaled", "activated", "dims") if w in wanted])
    expected = ort_run(exposed, feeds, outputs=wanted)
    with goal.Graph(plain) as graph:
        got = graph.run(feeds, outputs=wanted)
    assert list(got) == wanted or sorted(got) == sorted(wanted)
    compare(got, expected, *ACCUM, what=str(wanted))


def test_unknown_output_name_refused(tmp_path):
    path, feeds = _chain(tmp_path)
    with goal.Graph(path) as graph:
        with pytest.raises(goal.InvalidArgumentError) as raised:
            graph.run(feeds, outputs=["no_such_value"])
        assert "no_such_value" in str(raised.value)
        with pytest.raises(goal.InvalidArgumentError):
            graph.run(feeds, outputs=["y", "no_such_value"])
        assert graph.run(feeds, outputs=["y"])["y"].shape == (2, 3)
