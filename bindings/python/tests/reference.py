"""The signature of an ONNX file as the `onnx` Python package reads it: the independent reference
that goal.Graph is compared with."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper


def _dtype(elem_type: int) -> str | None:
    if elem_type == onnx.TensorProto.UNDEFINED:
        return None
    if elem_type == onnx.TensorProto.STRING:
        return "str"
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name


def _value(v: onnx.ValueInfoProto):
    if not v.type.HasField("tensor_type"):
        return (v.name, None, None)
    tensor = v.type.tensor_type
    shape = None
    if tensor.HasField("shape"):
        shape = tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param if d.dim_param else None)
            for d in tensor.shape.dim
        )
    return (v.name, _dtype(tensor.elem_type), shape)


def signature(path) -> dict:
    model = onnx.load(str(path), load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    return {
        "ir_version": model.ir_version,
        "producer": (model.producer_name, model.producer_version),
        "opsets": {(op.domain or "ai.onnx"): op.version for op in model.opset_import},
        # Initializers that the file also lists as inputs are defaults, not inputs to feed.
        "inputs": [_value(v) for v in model.graph.input if v.name not in initializers],
        "outputs": [_value(v) for v in model.graph.output],
        "node_count": len(model.graph.node),
        "initializer_count": len(model.graph.initializer),
    }


def graph_signature(graph) -> dict:
    return {
        "ir_version": graph.ir_version,
        "producer": (graph.producer_name, graph.producer_version),
        "opsets": graph.opsets,
        "inputs": [(v.name, v.dtype, v.shape) for v in graph.inputs],
        "outputs": [(v.name, v.dtype, v.shape) for v in graph.outputs],
        "node_count": graph.node_count,
        "initializer_count": graph.initializer_count,
    }
