"""Single-operator (and few-node) ONNX models for the parity tests in test_ops.py.

Each `Case` is a graph made with onnx.helper: its nodes, the arrays fed at run time, the arrays
stored as initializers, the outputs to compare, the opset and the tolerance. `build_model` turns
a case into a ModelProto whose outputs carry the element types (and shapes) that ONNX shape
inference gives them, as an exporter would write them.

The inputs are drawn from one seeded generator, so the tables are the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OPSET = 17

# (rtol, atol) per kind of computation.
EXACT = (0.0, 0.0)            # integers, bools, shapes, data movement, comparisons
SIMPLE = (1e-6, 1e-6)         # one rounding: add, mul, div, neg, abs, relu, min/max, where
TRANSC = (1e-5, 1e-6)         # exp, log, tanh, erf, sigmoid, pow, sqrt, gelu
ACCUM = (1e-4, 1e-5)          # sums: matmul, gemm, conv, pooling, norms, softmax, reductions

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def ir_version_for(opset: int) -> int:
    if opset <= 17:
        return 8
    if opset <= 19:
        return 9
    return 10


@dataclass
class Case:
    name: str
    nodes: list
    feeds: dict            # name -> array fed at run time (graph inputs)
    outputs: list          # graph outputs, compared one by one
    opset: int = DEFAULT_OPSET
    tol: tuple = EXACT
    inits: dict = field(default_factory=dict)   # name -> array stored as an initializer

    def __repr__(self):  # pytest ids
        return self.name


class Const:
    """An operator input stored in the model as an initializer instead of fed at run time."""

    def __init__(self, value, dtype=None):
        self.value = np.asarray(value, dtype=dtype)


def C(value, dtype=None) -> Const:
    return Const(value, dtype)


def I64(*values) -> Const:
    """A 1-D int64 initializer: shapes, axes, starts, repeats..."""
    return Const(np.array(values, dtype=np.int64))


def op(op_type, inputs, tag, *, n_out=1, opset=DEFAULT_OPSET, tol=EXACT, **attrs) -> Case:
    """One node. `inputs` holds arrays (fed as x0, x1, ...), Const (initializers c0, c1, ...)
    and None (an omitted optional input, written as "")."""
    names, feeds, inits = [], {}, {}
    for i, value in enumerate(inputs):
        if value is None:
            names.append("")
        elif isinstance(value, Const):
            names.append(f"c{i}")
            inits[f"c{i}"] = value.value
        else:
            names.append(f"x{i}")
            feeds[f"x{i}"] = np.asarray(value)
    outputs = ["y"] if n_out == 1 else [f"y{i}" for i in range(n_out)]
    node = helper.make_node(op_type, names, outputs, name=f"{op_type.lower()}_node", **attrs)
    return Case(f"{op_type}-{tag}", [node], feeds, outputs, opset, tol, inits)


def _tensor_type(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def build_model(nodes, feeds, outputs, opset=DEFAULT_OPSET, inits=None, *,
                symbolic: dict | None = None) -> onnx.ModelProto:
    """A model whose inputs are `feeds` (fixed shapes, or a symbol where `symbolic` names one:
    {input: {axis: "batch"}}), whose initializers are `inits`, and whose outputs get their types
    from ONNX shape inference."""
    symbolic = symbolic or {}
    graph_inputs = []
    for name, array in feeds.items():
        shape = list(array.shape)
        for axis, symbol in symbolic.get(name, {}).items():
            shape[axis] = symbol
        graph_inputs.append(helper.make_tensor_value_info(name, _tensor_type(array), shape))
    initializers = [numpy_helper.from_array(np.asarray(a), name) for name, a in (inits or {}).items()]
    graph = helper.make_graph(nodes, "case", graph_inputs,
                              [helper.make_empty_tensor_value_info(n) for n in outputs],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="goal-tests")
    model.ir_version = ir_version_for(opset)
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    known = {v.name: v for v in list(model.graph.value_info) + list(model.graph.output)}
    typed = []
    for name in outputs:
        value = known.get(name)
        if value is None or value.type.tensor_type.elem_type == TensorProto.UNDEFINED:
            raise AssertionError(f"shape inference gave no type for output {name!r}")
        typed.append(value)
    del model.graph.output[:]
    model.graph.output.extend(typed)
    return model


def case_model(case: Case) -> onnx.ModelProto:
    return build_model(case.nodes, case.feeds, case.outputs, case.opset, case.inits)


# ---------------------------------------------------------------------------------------------
# Inputs

_rng = np.random.default_rng(20240611)


def f32(*shape, scale=1.0):
    return (_rng.standard_normal(shape) * scale).astype(np.float32)


def pos(*shape, lo=0.1, hi=4.0):
    return _rng.uniform(lo, hi, shape).astype(np.float32)


def i64(*shape, lo=-9, hi=10):
    return _rng.integers(lo, hi, shape, dtype=np.int64)


def nonzero_i64(*shape, lo=-9, hi=10):
    a = i64(*shape, lo=lo, hi=hi)
    a[a == 0] = 3
    return a


def bools(*shape):
    return _rng.random(shape) < 0.5


def small_floats(*shape):
    """Floats with many ties: small integers, so that comparisons see equal values."""
    return _rng.integers(-3, 4, shape).astype(np.float32)


def away_from_zero(*shape):
    a = f32(*shape)
    return np.where(np.abs(a) < 0.5, np.sign(a) + (a == 0) + a, a).astype(np.float32)


def scalar(value, dtype=np.float32):
    return np.array(value, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Elementwise arithmetic

def _binary(op_type, tol, make_a, make_b=None):
    make_b = make_b or make_a
    shapes = [
        ("same", (2, 3, 4), (2, 3, 4)),
        ("row", (2, 3, 4), (4,)),
        ("col", (2, 3, 4), (3, 1)),
        ("both-ways", (2, 1, 4), (3, 1)),
        ("lower-rank-left", (4,), (2, 3, 4)),
        ("size1", (1, 1), (1,)),
        ("scalar-right", (2, 3), ()),
        ("scalar-left", (), (2, 3)),
        ("scalars", (), ()),
        ("empty", (0, 3), (3,)),
        # An attention mask over every head, large enough to be split between threads.
        ("heads", (4, 8, 40, 40), (4, 1, 40, 40)),
    ]
    return [op(op_type, [make_a(*sa), make_b(*sb)], tag, tol=tol) for tag, sa, sb in shapes]


def arithmetic_cases():
    cases = []
    for name in ("Add", "Sub", "Mul"):
        cases += _binary(name, SIMPLE, f32)
        cases.append(op(name, [i64(2, 3, 4), i64(3, 1)], "int64-bcast"))
        cases.append(op(name, [i64(5), scalar(7, np.int64)], "int64-scalar"))
        cases.append(op(name, [f32(2, 3), C(f32(3))], "const-row", tol=SIMPLE))
    cases += _binary("Div", SIMPLE, f32, away_from_zero)
    cases += [
        # Integer division truncates toward zero in onnxruntime (C semantics): -7/2 = -3.
        op("Div", [np.array([7, -7, 7, -7, 0, 5, -1, 1], np.int64),
                   np.array([2, 2, -2, -2, 3, -3, 4, -4], np.int64)], "int64-signs"),
        op("Div", [i64(2, 3, 4, lo=-50, hi=50), nonzero_i64(3, 1)], "int64-bcast"),
        op("Div", [i64(4, lo=-50, hi=50), C(scalar(3, np.int64))], "int64-const-scalar"),
        op("Div", [f32(2, 3), C(scalar(8.0))], "const-scalar", tol=SIMPLE),
    ]
    cases += [
        op("Pow", [pos(2, 3, 4), f32(2, 3, 4)], "float-exp", tol=TRANSC),
        op("Pow", [f32(2, 3, 4), C(scalar(2.0))], "square", tol=TRANSC),
        op("Pow", [f32(3, 4), C(scalar(3.0))], "cube-neg-base", tol=TRANSC),
        op("Pow", [pos(3, 4), C(scalar(0.5))], "sqrt", tol=TRANSC),
        op("Pow", [pos(2, 3), f32(3)], "bcast", tol=TRANSC),
        op("Pow", [f32(2, 3, 4), C(scalar(3, np.int64))], "int64-exp-scalar", tol=TRANSC),
        op("Pow", [f32(2, 3), np.array([0, 1, 2], np.int64)], "int64-exp-row", tol=TRANSC),
        op("Pow", [f32(2, 3), np.array([[-1], [2]], np.int64)], "int64-exp-negative", tol=TRANSC),
        op("Pow", [pos(4), scalar(1.5)], "scalar-exp-fed", tol=TRANSC),
    ]
    cases += [
        op("Mod", [np.array([7, -7, 7, -7, 0, 5, 9, -9], np.int64),
                   np.array([3, 3, -3, -3, 2, -5, 4, 4], np.int64)], "fmod0-int64-signs"),
        op("Mod", [i64(2, 3, 4, lo=-40, hi=40), nonzero_i64(4)], "fmod0-int64-bcast"),
        op("Mod", [np.array([7, -7, 7, -7], np.int64), np.array([3, 3, -3, -3], np.int64)],
           "fmod1-int64", fmod=1),
        op("Mod", [f32(2, 3, 4, scale=5.0), away_from_zero(3, 4)], "fmod1-float", fmod=1, tol=SIMPLE),
        op("Mod", [np.array([5.5, -5.5, 5.5, -5.5], np.float32),
                   np.array([2.0, 2.0, -2.0, -2.0], np.float32)], "fmod1-float-signs", fmod=1,
           tol=SIMPLE),
        op("Mod", [f32(3, 2, scale=5.0), C(scalar(1.5))], "fmod1-float-scalar", fmod=1, tol=SIMPLE),
    ]
    return cases


def unary_cases():
    cases = []
    specs = [
        ("Sqrt", TRANSC, lambda *s: pos(*s)),
        ("Exp", TRANSC, lambda *s: f32(*s, scale=3.0)),
        ("Log", TRANSC, lambda *s: pos(*s, lo=1e-3, hi=50.0)),
        ("Neg", EXACT, f32),
        ("Abs", EXACT, f32),
        ("Erf", TRANSC, lambda *s: f32(*s, scale=2.0)),
        ("Tanh", TRANSC, lambda *s: f32(*s, scale=3.0)),
        ("Sigmoid", TRANSC, lambda *s: f32(*s, scale=4.0)),
        ("Relu", EXACT, f32),
    ]
    for name, tol, make in specs:
        cases.append(op(name, [make(2, 3, 4)], "3d", tol=tol))
        cases.append(op(name, [make()], "scalar", tol=tol))
        cases.append(op(name, [make(0, 4)], "empty", tol=tol))
    cases += [
        op("Neg", [i64(2, 5)], "int64"),
        op("Abs", [i64(2, 5)], "int64"),
        op("Relu", [np.array([-0.0, 0.0, -1e-30, 1e-30, -np.inf, np.inf], np.float32)], "signed-zero-inf"),
        op("Exp", [np.array([-100.0, -10.0, 0.0, 10.0, 80.0], np.float32)], "range", tol=TRANSC),
        op("Tanh", [np.array([-20.0, -1e-4, 0.0, 1e-4, 20.0], np.float32)], "range", tol=TRANSC),
        op("Sigmoid", [np.array([-100.0, -20.0, 0.0, 20.0, 100.0], np.float32)], "range", tol=TRANSC),
        op("Erf", [np.array([-6.0, -1e-3, 0.0, 1e-3, 6.0], np.float32)], "range", tol=TRANSC),
    ]
    for approximate in ("none", "tanh"):
        cases.append(op("Gelu", [f32(2, 3, 8, scale=3.0)], f"{approximate}", opset=20, tol=TRANSC,
                        approximate=approximate))
        cases.append(op("Gelu", [np.linspace(-8, 8, 33, dtype=np.float32)], f"{approximate}-line",
                        opset=20, tol=TRANSC, approximate=approximate))
    cases.append(op("Gelu", [f32(4, 5)], "default", opset=20, tol=TRANSC))
    return cases


def clip_minmax_cases():
    x = f32(3, 4, scale=2.0)
    cases = [
        op("Clip", [x, C(scalar(-0.5)), C(scalar(0.7))], "min-max", tol=EXACT),
        op("Clip", [x, C(scalar(-0.5))], "min-only", tol=EXACT),
        op("Clip", [x, None, C(scalar(0.7))], "max-omitted-min", tol=EXACT),
        op("Clip", [x, C(scalar(0.0)), None], "min-trailing-empty", tol=EXACT),
        op("Clip", [x], "none", tol=EXACT),
        op("Clip", [x, scalar(-1.0), scalar(1.0)], "fed-bounds", tol=EXACT),
        op("Clip", [f32(), C(scalar(0.0)), C(scalar(6.0))], "scalar-relu6", tol=EXACT),
        op("Clip", [i64(2, 6), C(scalar(-3, np.int64)), C(scalar(4, np.int64))], "int64"),
        op("Clip", [f32(0, 3), C(scalar(-1.0)), C(scalar(1.0))], "empty"),
    ]
    for name in ("Min", "Max"):
        cases += [
            op(name, [f32(2, 3)], "one", tol=EXACT),
            op(name, [f32(2, 3), f32(2, 3)], "two", tol=EXACT),
            op(name, [f32(2, 1, 4), f32(3, 1)], "two-bcast", tol=EXACT),
            op(name, [f32(2, 1, 3), f32(4, 1), f32(3)], "three-bcast", tol=EXACT),
            op(name, [f32(2, 3), C(scalar(0.25))], "const-scalar", tol=EXACT),
            op(name, [i64(2, 1, 3), i64(4, 1), i64(3)], "int64-three"),
            op(name, [small_floats(5), small_floats(5)], "ties", tol=EXACT),
            op(name, [f32(0, 3), f32(3)], "empty", tol=EXACT),
        ]
    return cases


# ---------------------------------------------------------------------------------------------
# Comparison and logic

def compare_logic_cases():
    cases = []
    for name in ("Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"):
        cases += [
            op(name, [small_floats(2, 3, 4), small_floats(2, 3, 4)], "float"),
            op(name, [small_floats(2, 1, 4), small_floats(3, 1)], "float-bcast"),
            op(name, [i64(3, 4, lo=-2, hi=3), i64(4, lo=-2, hi=3)], "int64-bcast"),
            op(name, [small_floats(2, 3), C(scalar(0.0))], "const-scalar"),
            op(name, [small_floats(), small_floats()], "scalars"),
            op(name, [np.array([np.nan, 1.0, np.inf, -np.inf, 0.0], np.float32),
                      np.array([np.nan, np.nan, np.inf, np.inf, -0.0], np.float32)], "nan-inf-zero"),
        ]
    cases.append(op("Equal", [bools(2, 3), bools(3)], "bool-bcast"))
    for name in ("And", "Or"):
        cases += [
            op(name, [bools(2, 3, 4), bools(2, 3, 4)], "same"),
            op(name, [bools(2, 1, 4), bools(3, 1)], "bcast"),
            op(name, [bools(3), C(np.array(True))], "const-scalar"),
        ]
    cases += [
        op("Not", [bools(2, 3, 4)], "3d"),
        op("Not", [np.array(True)], "scalar"),
        op("Not", [np.zeros((0, 2), bool)], "empty"),
        op("IsNaN", [np.array([[np.nan, 0.0, -np.inf], [np.inf, -0.0, 1.0]], np.float32)], "specials"),
        op("IsNaN", [f32(2, 3)], "plain"),
    ]
    cases += [
        op("Where", [bools(2, 1, 4), f32(3, 1), f32(4)], "3way-bcast", tol=EXACT),
        op("Where", [bools(2, 3), f32(2, 3), f32(2, 3)], "same", tol=EXACT),
        op("Where", [np.array(True), f32(2, 3), f32(3)], "scalar-cond", tol=EXACT),
        op("Where", [bools(3, 4), C(scalar(-1e9)), f32(3, 4)], "masked-fill", tol=EXACT),
        op("Where", [bools(2, 3), i64(2, 3), C(scalar(0, np.int64))], "int64"),
        op("Where", [bools(0, 3), f32(3), f32(1)], "empty", tol=EXACT),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Cast

def cast_cases():
    F, I64_, I32, B, F16 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.BOOL, TensorProto.FLOAT16
    fractions = np.array([-2.7, -2.5, -1.5, -0.5, -0.2, 0.0, 0.2, 0.5, 1.5, 2.5, 2.7, 1000.9], np.float32)
    cases = [
        op("Cast", [fractions], "float-int64-truncates", to=I64_),
        op("Cast", [fractions], "float-int32", to=I32),
        op("Cast", [np.array([0.0, -0.0, 0.5, -3.0, np.inf, np.nan], np.float32)], "float-bool", to=B),
        op("Cast", [i64(3, 4, lo=-1000, hi=1000)], "int64-float", to=F),
        op("Cast", [np.array([2**40 + 1, -(2**40) - 3, 7], np.int64)], "int64-float-large", to=F),
        op("Cast", [np.array([0, 1, -1, 5], np.int64)], "int64-bool", to=B),
        op("Cast", [np.array([5, -(2**31), 2**31 - 1], np.int64)], "int64-int32", to=I32),
        op("Cast", [np.array([3, -4, 2**31 - 1], np.int32)], "int32-int64", to=I64_),
        op("Cast", [np.array([3, -4, 7], np.int32)], "int32-float", to=F),
        op("Cast", [bools(2, 3)], "bool-float", to=F),
        op("Cast", [bools(2, 3)], "bool-int64", to=I64_),
        op("Cast", [bools(2, 3)], "bool-int32", to=I32),
        op("Cast", [f32(2, 3, 4)], "float-float16", to=F16),
        op("Cast", [np.array([65504.0, 65520.0, 1e5, -1e5, 1e-8, 6e-5, 1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11,
                              np.nan, -np.inf], np.float32)], "float-float16-edges", to=F16),
        op("Cast", [f32(3, 4).astype(np.float16)], "float16-float", to=F),
        op("Cast", [f32(2, 3)], "float-float-same", to=F),
        op("Cast", [scalar(3.9)], "scalar", to=I64_),
        op("Cast", [np.zeros((0, 3), np.float32)], "empty", to=I64_),
        op("Cast", [fractions], "opset21", opset=21, to=I64_),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# MatMul, Gemm

def matmul_gemm_cases():
    shapes = [
        ("2d", (3, 4), (4, 5)),
        ("batched-3d", (2, 3, 4), (2, 4, 5)),
        ("batched-4d", (2, 3, 4, 5), (2, 3, 5, 6)),
        ("bcast-rhs-2d", (2, 3, 4), (4, 5)),
        ("bcast-lhs-2d", (3, 4), (2, 4, 5)),
        ("bcast-batch", (2, 1, 3, 4), (5, 4, 6)),
        ("vec-left", (4,), (2, 4, 5)),
        ("vec-right", (2, 3, 4), (4,)),
        ("vec-vec", (6,), (6,)),
        ("vec-mat", (4,), (4, 3)),
        ("k1", (3, 1), (1, 4)),
        ("m1", (1, 64), (64, 32)),
        ("long-k", (2, 300), (300, 3)),
        ("empty-m", (0, 4), (4, 3)),
        ("empty-k", (2, 0), (0, 3)),
    ]
    cases = [op("MatMul", [f32(*a), f32(*b)], tag, tol=ACCUM) for tag, a, b in shapes]
    cases.append(op("MatMul", [f32(2, 7, 16), C(f32(16, 8))], "const-weight", tol=ACCUM))
    cases.append(op("MatMul", [f32(1, 5, 8), f32(1, 8, 5)], "batch1", tol=ACCUM))

    A, B = f32(3, 4), f32(4, 5)
    cases += [
        op("Gemm", [A, B, f32(3, 5)], "full-c", tol=ACCUM),
        op("Gemm", [A, B], "no-c", tol=ACCUM),
        op("Gemm", [A, B, f32()], "scalar-c", tol=ACCUM),
        op("Gemm", [A, B, f32(1)], "size1-c", tol=ACCUM),
        op("Gemm", [A, B, f32(5)], "row-c", tol=ACCUM),
        op("Gemm", [A, B, f32(3, 1)], "col-c", tol=ACCUM),
        op("Gemm", [A, B, f32(1, 5)], "row2d-c", tol=ACCUM),
        op("Gemm", [f32(4, 3), B, f32(5)], "transA", tol=ACCUM, transA=1),
        op("Gemm", [A, f32(5, 4), C(f32(5))], "transB-linear", tol=ACCUM, transB=1),
        op("Gemm", [f32(4, 3), f32(5, 4), f32(3, 5)], "transAB", tol=ACCUM, transA=1, transB=1),
        op("Gemm", [A, B, f32(3, 5)], "alpha-beta", tol=ACCUM, alpha=0.5, beta=2.0),
        op("Gemm", [A, B, f32(5)], "beta0", tol=ACCUM, beta=0.0),
        op("Gemm", [A, B], "alpha-no-c", tol=ACCUM, alpha=-1.5),
        op("Gemm", [f32(1, 4), C(f32(6, 4)), C(f32(6))], "m1-linear", tol=ACCUM, transB=1),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Convolution and pooling

def conv_pool_cases():
    cases = [
        op("Conv", [f32(1, 3, 8, 8), C(f32(4, 3, 3, 3)), C(f32(4))], "pads-bias", tol=ACCUM,
           pads=[1, 1, 1, 1]),
        op("Conv", [f32(1, 3, 8, 8), f32(4, 3, 3, 3)], "no-bias-stride2", tol=ACCUM, strides=[2, 2]),
        op("Conv", [f32(1, 3, 9, 9), f32(2, 3, 3, 3), f32(2)], "dilation2", tol=ACCUM, dilations=[2, 2],
           pads=[2, 2, 2, 2]),
        op("Conv", [f32(2, 4, 6, 6), f32(6, 2, 3, 3), f32(6)], "groups2", tol=ACCUM, group=2,
           pads=[1, 1, 1, 1]),
        op("Conv", [f32(1, 4, 6, 6), f32(4, 1, 3, 3), f32(4)], "depthwise", tol=ACCUM, group=4,
           pads=[1, 1, 1, 1]),
        op("Conv", [f32(1, 4, 6, 6), f32(8, 1, 3, 3)], "depthwise-x2", tol=ACCUM, group=4),
        op("Conv", [f32(1, 2, 7, 7), f32(3, 2, 3, 3), f32(3)], "same-upper-s2", tol=ACCUM,
           auto_pad="SAME_UPPER", strides=[2, 2]),
        op("Conv", [f32(1, 2, 6, 6), f32(3, 2, 2, 2)], "same-upper-even-k", tol=ACCUM,
           auto_pad="SAME_UPPER"),
        op("Conv", [f32(1, 2, 6, 7), f32(3, 2, 3, 3)], "asym-pads", tol=ACCUM, pads=[0, 1, 2, 1]),
        op("Conv", [f32(2, 5, 4, 4), f32(3, 5, 1, 1), f32(3)], "1x1-batch2", tol=ACCUM),
        op("Conv", [f32(2, 3, 16, 16), C(f32(8, 3, 4, 4))], "patch-embed", tol=ACCUM, strides=[4, 4],
           kernel_shape=[4, 4]),
        op("Conv", [f32(1, 2, 7, 8), f32(3, 2, 3, 2)], "rect-kernel", tol=ACCUM, strides=[1, 2]),
        op("Conv", [f32(1, 1, 1, 1), f32(1, 1, 1, 1)], "all-size1", tol=ACCUM),
        op("Conv", [f32(2, 3, 10), f32(4, 3, 3), f32(4)], "1d-pads-bias", tol=ACCUM, pads=[1, 1]),
        op("Conv", [f32(1, 2, 12), f32(2, 2, 3)], "1d-stride-dilation", tol=ACCUM, strides=[2],
           dilations=[2]),
        op("Conv", [f32(1, 4, 9), f32(4, 1, 5), f32(4)], "1d-depthwise", tol=ACCUM, group=4,
           pads=[2, 2]),
    ]
    cases += [
        op("MaxPool", [f32(1, 2, 6, 6)], "k2s2", kernel_shape=[2, 2], strides=[2, 2]),
        op("MaxPool", [f32(1, 2, 5, 5)], "k3s1p1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        op("MaxPool", [-pos(1, 2, 5, 5)], "negative-pads", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        op("MaxPool", [f32(1, 2, 6, 6)], "ceil", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        op("MaxPool", [f32(1, 2, 7, 7)], "same-upper", kernel_shape=[3, 3], strides=[2, 2],
           auto_pad="SAME_UPPER"),
        op("MaxPool", [f32(1, 1, 7, 7)], "dilation", kernel_shape=[2, 2], dilations=[2, 2]),
        op("MaxPool", [f32(2, 3, 9)], "1d", kernel_shape=[3], strides=[2]),
        op("MaxPool", [f32(1, 2, 5, 6)], "asym-pads", kernel_shape=[2, 3], pads=[0, 1, 1, 0]),
    ]
    cases += [
        op("AveragePool", [f32(1, 2, 6, 6)], "k2s2", tol=ACCUM, kernel_shape=[2, 2], strides=[2, 2]),
        op("AveragePool", [f32(1, 2, 5, 5)], "pads-exclude", tol=ACCUM, kernel_shape=[3, 3],
           pads=[1, 1, 1, 1], count_include_pad=0),
        op("AveragePool", [f32(1, 2, 5, 5)], "pads-include", tol=ACCUM, kernel_shape=[3, 3],
           pads=[1, 1, 1, 1], count_include_pad=1),
        op("AveragePool", [f32(1, 2, 6, 6)], "ceil-exclude", tol=ACCUM, kernel_shape=[3, 3],
           strides=[2, 2], ceil_mode=1, count_include_pad=0),
        op("AveragePool", [f32(1, 2, 6, 6)], "ceil-include", tol=ACCUM, kernel_shape=[3, 3],
           strides=[2, 2], ceil_mode=1, count_include_pad=1),
        op("AveragePool", [f32(1, 2, 6, 6)], "ceil-pads-include", tol=ACCUM, kernel_shape=[3, 3],
           strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
        op("AveragePool", [f32(1, 1, 5, 6)], "asym-pads-include", tol=ACCUM, kernel_shape=[2, 2],
           pads=[1, 0, 0, 1], count_include_pad=1),
        op("AveragePool", [f32(2, 3, 9)], "1d", tol=ACCUM, kernel_shape=[3], strides=[2], pads=[1, 1]),
    ]
    cases += [
        op("GlobalAveragePool", [f32(2, 3, 5, 5)], "2d", tol=ACCUM),
        op("GlobalAveragePool", [f32(1, 4, 7)], "1d", tol=ACCUM),
        op("GlobalAveragePool", [f32(2, 3, 1, 1)], "size1", tol=ACCUM),
        op("GlobalAveragePool", [f32(1, 2, 16, 16) + 100.0], "offset", tol=ACCUM),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Normalization, softmax

def norm_softmax_cases():
    cases = []
    for opset in (14, 15):
        cases.append(op("BatchNormalization", [f32(2, 3, 4, 5), C(f32(3)), C(f32(3)), C(f32(3)), C(pos(3))],
                        f"4d-opset{opset}", opset=opset, tol=ACCUM))
    cases += [
        op("BatchNormalization", [f32(2, 3), f32(3), f32(3), f32(3), pos(3)], "2d-fed", opset=15, tol=ACCUM),
        op("BatchNormalization", [f32(2, 3, 7), C(f32(3)), C(f32(3)), C(f32(3)), C(pos(3, lo=1e-4, hi=1e-3))],
           "3d-eps", opset=15, tol=ACCUM, epsilon=1e-3),
    ]
    x = f32(2, 3, 8, scale=2.0)
    flat = np.full((2, 8), 3.0, np.float32)
    cases += [
        op("LayerNormalization", [x, C(pos(8)), C(f32(8))], "axis-1-bias", tol=ACCUM, axis=-1),
        op("LayerNormalization", [x, C(pos(8))], "axis-1-nobias", tol=ACCUM, axis=-1),
        op("LayerNormalization", [x, pos(3, 8), f32(3, 8)], "axis1-bias", tol=ACCUM, axis=1),
        op("LayerNormalization", [x, pos(3, 8)], "axis1-nobias", tol=ACCUM, axis=1),
        op("LayerNormalization", [x, C(pos(8)), C(f32(8))], "default-axis", tol=ACCUM),
        op("LayerNormalization", [x, C(pos(8)), C(f32(8))], "eps", tol=ACCUM, epsilon=1e-2),
        op("LayerNormalization", [flat, C(pos(8)), C(f32(8))], "constant-rows", tol=ACCUM),
        op("LayerNormalization", [f32(4, 16) + 50.0, C(pos(16)), C(f32(16))], "offset", tol=ACCUM),
        # Rows wide enough for the vector path (100 = 6 × 16 + 4), near and far from zero.
        op("LayerNormalization", [f32(2, 5, 100, scale=3.0), C(pos(100)), C(f32(100))], "wide-rows", tol=ACCUM),
        op("LayerNormalization", [f32(3, 100) + 300.0, C(pos(100)), C(f32(100))], "wide-offset", tol=ACCUM),
    ]
    for opset in (13, 21):
        cases += [
            op("Softmax", [f32(2, 3, 5, scale=3.0)], f"axis-1-opset{opset}", opset=opset, tol=ACCUM, axis=-1),
            op("Softmax", [f32(2, 3, 5, scale=3.0)], f"axis0-opset{opset}", opset=opset, tol=ACCUM, axis=0),
            op("Softmax", [f32(2, 3, 5, scale=3.0)], f"axis1-middle-opset{opset}", opset=opset, tol=ACCUM, axis=1),
        ]
    cases += [
        op("Softmax", [f32(4, 7)], "default-axis", opset=13, tol=ACCUM),
        op("Softmax", [f32(2, 6, scale=100.0)], "large-logits", opset=13, tol=ACCUM),
        op("Softmax", [np.array([[0.0, -np.inf, 1.0], [-1e9, 0.0, -1e9]], np.float32)], "masked",
           opset=13, tol=ACCUM),
        op("Softmax", [f32(3, 1)], "size1-axis", opset=13, tol=ACCUM),
        op("Softmax", [f32(2, 2, 3, 4)], "4d-axis2", opset=13, tol=ACCUM, axis=2),
        # Rows long enough for the vector path, with tails past a multiple of 8: attention over
        # 50 and 77 tokens, and rows whose maximum sits in the tail or is infinite or NaN.
        op("Softmax", [f32(2, 3, 50, scale=4.0)], "attention-50", opset=13, tol=ACCUM),
        op("Softmax", [f32(4, 77, scale=10.0)], "attention-77", opset=13, tol=ACCUM),
        op("Softmax", [np.array([[0.0] * 9 + [5.0], [-np.inf] * 8 + [0.0, 1.0], [0.0] * 8 + [np.inf, 1.0],
                                 [1.0] * 4 + [np.nan] + [1.0] * 5, [-np.inf] * 10], np.float32)],
           "long-rows-tail-inf-nan", opset=13, tol=ACCUM),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Reductions, ArgMax, CumSum

def reduce_cases():
    cases = []
    x = f32(2, 3, 4)
    xi = i64(2, 3, 4)
    variants = [  # tag, axes (None: all), keepdims
        ("axis1", [1], 1),
        ("axis-1-drop", [-1], 0),
        ("axes0,2", [0, 2], 1),
        ("axes-1,0-drop", [-1, 0], 0),
        ("all-keep", None, 1),
        ("all-drop", None, 0),
    ]
    for name, tol in (("ReduceMean", ACCUM), ("ReduceMax", EXACT), ("ReduceMin", EXACT), ("ReduceL2", ACCUM)):
        for tag, axes, keep in variants:
            attrs = {"keepdims": keep}
            if axes is not None:
                attrs["axes"] = axes
            cases.append(op(name, [x], f"opset13-{tag}", opset=13, tol=tol, **attrs))
            inputs = [x] if axes is None else [x, I64(*axes)]
            cases.append(op(name, inputs, f"opset18-{tag}", opset=18, tol=tol, keepdims=keep))
        cases += [
            op(name, [x, I64()], "opset18-empty-axes", opset=18, tol=tol),
            op(name, [f32(5, 1)], "opset13-default", opset=13, tol=tol),
            op(name, [f32(0, 3)], "opset13-empty-other-axis", opset=13, tol=tol, axes=[1]),
        ]
    cases += [
        op("ReduceMax", [xi], "opset13-int64", opset=13, axes=[1], keepdims=0),
        op("ReduceMax", [xi, I64(-1)], "opset18-int64", opset=18),
        op("ReduceMax", [-pos(3, 4)], "opset13-all-negative", opset=13, axes=[1]),
        op("ReduceMean", [f32(1, 50, 768)], "opset13-wide", opset=13, tol=ACCUM, axes=[-1]),
    ]
    cases += [
        op("ReduceSum", [x, I64(1)], "axis1", opset=13, tol=ACCUM),
        op("ReduceSum", [x, I64(-1, 0)], "neg-axes-drop", opset=13, tol=ACCUM, keepdims=0),
        op("ReduceSum", [x], "no-axes-all", opset=13, tol=ACCUM),
        op("ReduceSum", [x], "no-axes-all-drop", opset=13, tol=ACCUM, keepdims=0),
        op("ReduceSum", [x], "no-axes-noop", opset=13, tol=ACCUM, noop_with_empty_axes=1),
        op("ReduceSum", [x, I64()], "empty-axes-all", opset=13, tol=ACCUM),
        op("ReduceSum", [x, I64()], "empty-axes-noop", opset=13, tol=ACCUM, noop_with_empty_axes=1),
        op("ReduceSum", [x, I64(2)], "axis2-noop-flag", opset=13, tol=ACCUM, noop_with_empty_axes=1),
        op("ReduceSum", [xi, I64(0, 1)], "int64", opset=13),
        op("ReduceSum", [f32(0, 3), I64(0)], "empty-reduced-axis", opset=13, tol=ACCUM),
        op("ReduceSum", [x, I64(1)], "opset21", opset=21, tol=ACCUM),
    ]
    ties = np.array([[1, 3, 3, 0], [2, 2, 1, 2], [5, 4, 5, 5]], np.float32)
    cases += [
        op("ArgMax", [x], "default", opset=13),
        op("ArgMax", [x], "axis1-keep", opset=13, axis=1),
        op("ArgMax", [x], "axis-1-drop", opset=13, axis=-1, keepdims=0),
        op("ArgMax", [ties], "ties-first", opset=13, axis=1),
        op("ArgMax", [ties], "ties-last", opset=13, axis=1, select_last_index=1),
        op("ArgMax", [ties], "ties-last-axis0-drop", opset=13, axis=0, keepdims=0, select_last_index=1),
        op("ArgMax", [ties], "ties-first-neg-axis", opset=13, axis=-2, keepdims=0),
        op("ArgMax", [xi], "int64", opset=13, axis=2),
        op("ArgMax", [f32(5)], "1d-drop", opset=13, keepdims=0),
    ]
    data = f32(2, 3, 4)
    cases += [
        op("CumSum", [data, C(scalar(1, np.int64))], "axis1", opset=14, tol=ACCUM),
        op("CumSum", [data, C(scalar(-1, np.int64))], "axis-1", opset=14, tol=ACCUM),
        op("CumSum", [data, C(scalar(1, np.int64))], "exclusive", opset=14, tol=ACCUM, exclusive=1),
        op("CumSum", [data, C(scalar(0, np.int64))], "reverse", opset=14, tol=ACCUM, reverse=1),
        op("CumSum", [data, C(scalar(-2, np.int64))], "exclusive-reverse", opset=14, tol=ACCUM,
           exclusive=1, reverse=1),
        op("CumSum", [i64(6), C(scalar(0, np.int64))], "int64-1d", opset=14),
        op("CumSum", [i64(2, 5), C(scalar(-1, np.int32))], "int64-int32-axis-excl", opset=14, exclusive=1),
        op("CumSum", [data, scalar(2, np.int64)], "fed-axis", opset=14, tol=ACCUM),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Shape and data movement

def shape_op_cases():
    x = f32(2, 3, 4)
    x4 = f32(2, 3, 4, 5)
    cases = [
        op("Transpose", [f32(2, 3)], "2d-default"),
        op("Transpose", [x], "3d-default"),
        op("Transpose", [x], "3d-102", perm=[1, 0, 2]),
        op("Transpose", [x4], "0213", perm=[0, 2, 1, 3]),
        op("Transpose", [x4], "0312", perm=[0, 3, 1, 2]),
        op("Transpose", [x4], "0231", perm=[0, 2, 3, 1]),
        op("Transpose", [x4], "3210", perm=[3, 2, 1, 0]),
        op("Transpose", [x4], "identity", perm=[0, 1, 2, 3]),
        op("Transpose", [f32(1, 3, 1, 4)], "size1", perm=[2, 0, 3, 1]),
        op("Transpose", [i64(2, 3, 4)], "int64", perm=[2, 0, 1]),
        op("Transpose", [np.zeros((0, 3), np.float32)], "empty"),
        op("Transpose", [f32(2, 3, 2, 3, 2)], "5d", perm=[4, 2, 0, 3, 1]),
    ]
    cases += [
        op("Reshape", [x, I64(0, -1)], "zero-minus1"),
        op("Reshape", [x, I64(-1)], "flat"),
        op("Reshape", [x, I64(4, 0, 2)], "zero-middle"),
        op("Reshape", [x, I64(1, -1, 4, 1)], "size1"),
        op("Reshape", [x, I64(2, 3, 2, 2)], "split-last"),
        op("Reshape", [x, I64(0, 0, -1)], "zeros-minus1", opset=14, allowzero=0),
        op("Reshape", [f32(1, 1), I64()], "to-scalar"),
        op("Reshape", [f32(), I64(1, 1)], "from-scalar"),
        op("Reshape", [i64(2, 6), I64(3, -1)], "int64"),
        op("Reshape", [x, np.array([6, -1], np.int64)], "fed-shape"),
        op("Reshape", [x, I64(0, -1)], "opset21", opset=21),
    ]
    cases += [
        op("Flatten", [x], "default"),
        op("Flatten", [x], "axis0", axis=0),
        op("Flatten", [x], "axis1", axis=1),
        op("Flatten", [x], "axis-1", axis=-1),
        op("Flatten", [x4], "axis2", axis=2),
        op("Flatten", [x], "axis-rank", axis=3),
        op("Flatten", [i64(2, 1, 3)], "int64", axis=2),
    ]
    y = f32(1, 3, 1, 4)
    cases += [
        op("Squeeze", [y, I64(0)], "axis0"),
        op("Squeeze", [y, I64(-2)], "neg-axis"),
        op("Squeeze", [y, I64(0, 2)], "two"),
        op("Squeeze", [y, I64(2, -4)], "two-mixed-sign"),
        op("Squeeze", [y], "no-axes"),
        op("Squeeze", [f32(1)], "to-scalar"),
        op("Squeeze", [i64(3, 1), I64(1)], "int64"),
        op("Squeeze", [y, I64(0)], "opset21", opset=21),
        op("Unsqueeze", [f32(3, 4), I64(0)], "axis0"),
        op("Unsqueeze", [f32(3, 4), I64(-1)], "neg-axis"),
        op("Unsqueeze", [f32(3, 4), I64(1, 3)], "two"),
        op("Unsqueeze", [f32(3, 4), I64(3, 1)], "unsorted"),
        op("Unsqueeze", [f32(3, 4), I64(-1, 0)], "mixed-sign"),
        op("Unsqueeze", [f32(), I64(0)], "scalar"),
        op("Unsqueeze", [np.array(5, np.int64), I64(0, 1)], "scalar-int64-two"),
        op("Unsqueeze", [f32(3, 4), I64(1)], "opset21", opset=21),
    ]
    cases += [
        op("Concat", [f32(2, 3), f32(2, 5)], "axis-1", axis=-1),
        op("Concat", [f32(2, 3), f32(4, 3)], "axis0", axis=0),
        op("Concat", [i64(2, 1, 3), i64(2, 4, 3), C(i64(2, 2, 3))], "int64-three", axis=1),
        op("Concat", [f32(2, 3, 4), f32(2, 1, 4)], "axis-2", axis=-2),
        op("Concat", [f32(2, 0), f32(2, 3)], "empty-part", axis=1),
        op("Concat", [f32(2, 3)], "single", axis=0),
        op("Concat", [np.array([1], np.int64), C(I64(-1).value), np.array([4, 5], np.int64)], "shape-like",
           axis=0),
        op("Concat", [bools(1, 2), bools(3, 2)], "bool", axis=0),
    ]
    s = f32(2, 7, 3)
    cases += [
        op("Split", [s, I64(2, 5)], "opset13-split-input", n_out=2, opset=13, axis=1),
        op("Split", [s, I64(3, 1, 3)], "opset13-split-neg-axis", n_out=3, opset=13, axis=-2),
        op("Split", [f32(2, 6)], "opset13-equal", n_out=3, opset=13, axis=1),
        op("Split", [f32(4, 3)], "opset13-default-axis", n_out=2, opset=13),
        op("Split", [s], "opset18-uneven", n_out=3, opset=18, axis=1, num_outputs=3),
        op("Split", [f32(2, 10)], "opset18-uneven-4", n_out=4, opset=18, axis=-1, num_outputs=4),
        op("Split", [f32(2, 6)], "opset18-even", n_out=2, opset=18, axis=1, num_outputs=2),
        op("Split", [s, I64(4, 3)], "opset18-split-input", n_out=2, opset=18, axis=1),
        op("Split", [i64(6, 2), I64(1, 5)], "int64", n_out=2, opset=13),
    ]
    z = f32(4, 5, 6)
    cases += [
        op("Slice", [z, I64(1), I64(3), I64(0)], "basic"),
        op("Slice", [z, I64(-3), I64(-1), I64(1)], "negative-starts-ends"),
        op("Slice", [z, I64(0), I64(6), I64(2), I64(2)], "step2"),
        op("Slice", [z, I64(1), I64(INT64_MAX), I64(2), I64(2)], "step2-max-end"),
        op("Slice", [z, I64(-1), I64(INT64_MIN), I64(1), I64(-1)], "reverse"),
        op("Slice", [z, I64(5), I64(0), I64(2), I64(-2)], "step-2"),
        op("Slice", [z, I64(100), I64(-100), I64(0), I64(-1)], "reverse-clamped"),
        op("Slice", [z, I64(-100), I64(100), I64(0)], "clamped"),
        op("Slice", [z, I64(1, 0, 2), I64(3, 5, 4)], "axes-omitted"),
        op("Slice", [z, I64(2), I64(INT64_MAX), I64(-1)], "neg-axis-max-end"),
        op("Slice", [z, I64(3), I64(1), I64(0)], "empty-result"),
        op("Slice", [z, I64(1, 1), I64(5, 3), I64(2, 0), I64(3, 1)], "axes-unordered-steps"),
        op("Slice", [z, I64(0, -2), I64(-1, INT64_MAX), I64(-3, -1)], "two-neg-axes"),
        op("Slice", [i64(10), I64(2), I64(9), I64(0), I64(3)], "int64-1d-step3"),
        op("Slice", [z, np.array([1], np.int64), np.array([4], np.int64), I64(2)], "fed-starts-ends"),
        op("Slice", [z, I64(1), I64(3), I64(0)], "opset21", opset=21),
    ]
    g = f32(5, 4)
    cases += [
        op("Gather", [g, np.array([0, 4, 2], np.int64)], "axis0"),
        op("Gather", [g, np.array([[0, 3], [1, 1]], np.int64)], "axis1-2d", axis=1),
        op("Gather", [g, np.array([-1, 0, -5], np.int64)], "negative"),
        op("Gather", [g, np.array(2, np.int64)], "scalar-axis0"),
        op("Gather", [g, np.array(-1, np.int64)], "scalar-axis1", axis=1),
        op("Gather", [g, C(np.array(1, np.int64))], "scalar-const"),
        op("Gather", [i64(3, 4, 5), np.array([4, 0], np.int64)], "int64-axis-1", axis=-1),
        op("Gather", [C(f32(10, 6)), np.array([[1, 2, 3], [9, 0, 9]], np.int64)], "embedding"),
        op("Gather", [g, np.array([3, -2], np.int32)], "int32-indices"),
        op("Gather", [g, np.zeros((0,), np.int64)], "empty-indices"),
        op("Gather", [np.array([2, 3, 7], np.int64), C(np.array(0, np.int64))], "shape-elem"),
    ]
    gd = f32(2, 3, 4)
    cases += [
        op("GatherND", [gd, np.array([[0, 1], [1, 2]], np.int64)], "b0-slices"),
        op("GatherND", [gd, np.array([[[0, 1, 2]], [[1, 0, 3]]], np.int64)], "b0-elements"),
        op("GatherND", [gd, np.array([[1], [0]], np.int64)], "b0-rows"),
        op("GatherND", [gd, np.array([[1], [2]], np.int64)], "b1", batch_dims=1),
        op("GatherND", [gd, np.array([[[1, 3]], [[2, 0]]], np.int64)], "b1-elements", batch_dims=1),
        op("GatherND", [gd, np.array([[[2], [0]], [[1], [1]]], np.int64)], "b1-2d", batch_dims=1),
        op("GatherND", [gd, np.array([[-1, -2]], np.int64)], "b0-negative"),
        op("GatherND", [i64(3, 3), np.array([[2, 2], [0, 1]], np.int64)], "int64"),
    ]
    cases += [
        op("Expand", [f32(3, 1), I64(2, 1, 4)], "both-directions"),
        op("Expand", [f32(1, 4), I64(3, 1)], "rows"),
        op("Expand", [f32(2, 3), I64(3)], "lower-rank-shape"),
        op("Expand", [f32(2, 3), I64(1, 1)], "ones-shape"),
        op("Expand", [f32(), I64(2, 2)], "scalar"),
        op("Expand", [i64(1, 3, 1), I64(2, 1, 1, 5)], "int64-rank-up"),
        op("Expand", [bools(3, 1), I64(3, 2)], "bool"),
        op("Expand", [f32(3, 1), np.array([3, 4], np.int64)], "fed-shape"),
        op("Tile", [f32(2, 3), I64(2, 2)], "2x2"),
        op("Tile", [f32(2, 1, 3), I64(1, 3, 1)], "middle"),
        op("Tile", [i64(2, 3), I64(1, 1)], "int64-identity"),
        op("Tile", [i64(4), I64(3)], "int64-1d"),
        op("Tile", [f32(2, 3), I64(0, 1)], "zero-repeat"),
    ]
    sx = f32(2, 3, 4, 5)
    cases += [
        op("Shape", [sx], "opset13", opset=13),
        op("Shape", [sx], "start1", opset=15, start=1),
        op("Shape", [sx], "end-1", opset=15, end=-1),
        op("Shape", [sx], "start-2", opset=15, start=-2),
        op("Shape", [sx], "start1-end3", opset=15, start=1, end=3),
        op("Shape", [sx], "clamped", opset=15, start=-10, end=10),
        op("Shape", [sx], "empty-range", opset=15, start=3, end=1),
        op("Shape", [f32()], "scalar", opset=15),
        op("Shape", [np.zeros((0, 3), np.float32)], "empty-dim", opset=15),
        op("Shape", [sx], "opset21", opset=21, start=1),
    ]
    cases += [
        op("Identity", [f32(2, 3)], "float"),
        op("Identity", [i64(4)], "int64"),
        op("Identity", [scalar(2.5)], "scalar"),
        op("Identity", [bools(2, 2)], "bool"),
        op("Identity", [C(f32(3))], "initializer"),
    ]
    tri = f32(4, 4)
    cases += [
        op("Trilu", [tri], "upper-default", opset=14),
        op("Trilu", [tri], "lower", opset=14, upper=0),
        op("Trilu", [tri, C(scalar(1, np.int64))], "upper-k1", opset=14, upper=1),
        op("Trilu", [tri, C(scalar(-1, np.int64))], "upper-k-1", opset=14, upper=1),
        op("Trilu", [tri, C(scalar(1, np.int64))], "lower-k1", opset=14, upper=0),
        op("Trilu", [tri, C(scalar(-2, np.int64))], "lower-k-2", opset=14, upper=0),
        op("Trilu", [tri, C(scalar(-5, np.int64))], "upper-k-5", opset=14),
        op("Trilu", [tri, C(scalar(7, np.int64))], "lower-k7", opset=14, upper=0),
        op("Trilu", [f32(2, 3, 4), C(scalar(1, np.int64))], "batched-upper", opset=14),
        op("Trilu", [f32(2, 3, 4)], "batched-lower", opset=14, upper=0),
        op("Trilu", [f32(5, 3)], "tall-upper", opset=14),
        op("Trilu", [i64(3, 5), scalar(-1, np.int64)], "int64-fed-k", opset=14, upper=0),
        op("Trilu", [f32(2, 1, 4, 4)], "4d-lower", opset=14, upper=0),
    ]
    return cases


# ---------------------------------------------------------------------------------------------
# Nodes that make values: Constant, ConstantOfShape, Range

def _tensor(name, dtype, dims, values):
    return helper.make_tensor(name, dtype, dims, values)


def generator_cases():
    cases = []
    constants = [
        ("value-tensor", {"value": numpy_helper.from_array(f32(2, 3), "v")}),
        ("value-tensor-int64", {"value": numpy_helper.from_array(i64(4), "v")}),
        ("value-scalar-tensor", {"value": numpy_helper.from_array(scalar(1.25), "v")}),
        ("value_float", {"value_float": 0.125}),
        ("value_floats", {"value_floats": [1.0, -2.5, 3.0]}),
        ("value_int", {"value_int": -7}),
        ("value_ints", {"value_ints": [3, 0, -1, 5]}),
    ]
    for tag, attrs in constants:
        node = helper.make_node("Constant", [], ["y"], name="constant_node", **attrs)
        cases.append(Case(f"Constant-{tag}", [node], {}, ["y"], 17, EXACT))
    # A constant used by a computation on a fed input, as exporters write them.
    nodes = [helper.make_node("Constant", [], ["k"], name="k", value=numpy_helper.from_array(f32(3), "v")),
             helper.make_node("Mul", ["x", "k"], ["y"], name="mul")]
    cases.append(Case("Constant-feeds-Mul", nodes, {"x": f32(2, 3)}, ["y"], 17, SIMPLE))

    cases += [
        op("ConstantOfShape", [I64(2, 3)], "default"),
        op("ConstantOfShape", [I64(2, 3)], "float",
           value=_tensor("value", TensorProto.FLOAT, [1], [2.5])),
        op("ConstantOfShape", [I64(4)], "int64", value=_tensor("value", TensorProto.INT64, [1], [-7])),
        op("ConstantOfShape", [I64(2, 2)], "bool", value=_tensor("value", TensorProto.BOOL, [1], [True])),
        op("ConstantOfShape", [I64()], "scalar", value=_tensor("value", TensorProto.FLOAT, [1], [3.0])),
        op("ConstantOfShape", [I64(0, 3)], "empty"),
        op("ConstantOfShape", [np.array([3, 1, 2], np.int64)], "fed-shape",
           value=_tensor("value", TensorProto.INT64, [1], [1])),
    ]
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("ConstantOfShape", ["s"], ["y"], name="fill",
                              value=_tensor("value", TensorProto.FLOAT, [1], [1.0]))]
    cases.append(Case("ConstantOfShape-from-Shape", nodes, {"x": f32(2, 5)}, ["y"], 17, EXACT))

    def rng_case(tag, start, limit, delta, dtype, tol=EXACT, fed=False):
        values = [np.array(v, dtype) for v in (start, limit, delta)]
        inputs = values if fed else [Const(v) for v in values]
        return op("Range", inputs, tag, tol=tol)

    cases += [
        rng_case("float", 0.0, 5.0, 1.0, np.float32),
        rng_case("float-fraction", 1.0, 3.1, 0.25, np.float32, SIMPLE),
        rng_case("float-tenths", 0.0, 1.0, 0.1, np.float32, SIMPLE),
        rng_case("float-negative-delta", 5.0, 0.0, -1.5, np.float32, SIMPLE),
        rng_case("float-empty", 3.0, 1.0, 1.0, np.float32),
        rng_case("int64", 0, 10, 3, np.int64),
        rng_case("int64-negative-delta", 10, 4, -3, np.int64),
        rng_case("int64-negative-start", -5, 3, 2, np.int64),
        rng_case("int64-empty", 5, 0, 1, np.int64),
        rng_case("int64-one", 4, 5, 10, np.int64),
        rng_case("int64-fed", 2, 11, 4, np.int64, fed=True),
        rng_case("float-fed", -1.0, 1.0, 0.5, np.float32, fed=True),
    ]
    return cases


def all_cases():
    return {
        "arithmetic": arithmetic_cases(),
        "unary": unary_cases(),
        "clip_minmax": clip_minmax_cases(),
        "compare_logic": compare_logic_cases(),
        "cast": cast_cases(),
        "matmul_gemm": matmul_gemm_cases(),
        "conv_pool": conv_pool_cases(),
        "norm_softmax": norm_softmax_cases(),
        "reduce": reduce_cases(),
        "shape_ops": shape_op_cases(),
        "generators": generator_cases(),
    }


# ---------------------------------------------------------------------------------------------
# If: a constant condition made by a Constant node, two branches reading an outer-scope input.

def if_model(condition: bool, opset=DEFAULT_OPSET) -> tuple[onnx.ModelProto, dict]:
    x = f32(2, 3)
    float_2x3 = helper.make_tensor_value_info  # shorthand below
    then_graph = helper.make_graph(
        [helper.make_node("Constant", [], ["two"], name="then_two", value_float=2.0),
         helper.make_node("Mul", ["x", "two"], ["then_out"], name="then_mul")],
        "then_branch", [], [float_2x3("then_out", TensorProto.FLOAT, [2, 3])])
    else_graph = helper.make_graph(
        [helper.make_node("Exp", ["x"], ["e"], name="else_exp"),
         helper.make_node("Neg", ["e"], ["else_out"], name="else_neg")],
        "else_branch", [], [float_2x3("else_out", TensorProto.FLOAT, [2, 3])])
    nodes = [
        helper.make_node("Constant", [], ["cond"], name="cond",
                         value=numpy_helper.from_array(np.array(condition), "c")),
        helper.make_node("If", ["cond"], ["branch"], name="if_node",
                         then_branch=then_graph, else_branch=else_graph),
        helper.make_node("Add", ["branch", "x"], ["y"], name="after"),
    ]
    feeds = {"x": x}
    return build_model(nodes, feeds, ["y"], opset), feeds
