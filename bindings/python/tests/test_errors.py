"""Every way goal_graph_open can fail has its own exception and a message that says what was
wrong; nothing crashes the interpreter."""

import ctypes
import os
import shutil

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import goal
from goal import _capi
from conftest import FIXTURES

BAD = FIXTURES / "bad"
TEXT_MODEL = FIXTURES / "models" / "hf_text_ts" / "model.onnx"


def test_missing_file():
    with pytest.raises(goal.ModelNotFoundError, match="no_such.onnx"):
        goal.Graph(BAD / "no_such.onnx")


def test_folder_is_not_a_file():
    with pytest.raises(goal.ReadError, match="folder"):
        goal.Graph(BAD)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path):
    path = tmp_path / "locked.onnx"
    shutil.copy(TEXT_MODEL, path)
    path.chmod(0)
    with pytest.raises(goal.ReadError, match="Permission denied"):
        goal.Graph(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(goal.NotONNXError, match="empty"):
        goal.Graph(path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n" + bytes(100), b"hello, world\n" * 20,
                                     b'{"model": "json"}'])
def test_other_kinds_of_file(tmp_path, content):
    path = tmp_path / "other.onnx"
    path.write_bytes(content)
    with pytest.raises(goal.NotONNXError, match="not an ONNX model"):
        goal.Graph(path)


def test_corrupt_fixture():
    with pytest.raises(goal.NotONNXError):
        goal.Graph(BAD / "corrupt.onnx")


def test_hostile_fixtures():
    with pytest.raises(goal.InvalidModelError, match="nowhere"):
        goal.Graph(BAD / "dangling.onnx")
    # A 10^12-element constant is refused before anything is allocated.
    with pytest.raises(goal.OutOfMemoryError, match="1000000000000 elements"):
        goal.Graph(BAD / "huge_constant.onnx")
    # Nesting beyond protobuf's limit stops the parser instead of recursing without bound.
    with pytest.raises(goal.NotONNXError, match="nested more than 100 deep"):
        goal.Graph(BAD / "deep.onnx")


def test_truncated_fixture():
    with pytest.raises(goal.TruncatedModelError, match="truncated"):
        goal.Graph(BAD / "truncated.onnx")


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999])
def test_truncated_anywhere(tmp_path, fraction):
    data = TEXT_MODEL.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: max(3, int(len(data) * fraction))])
    with pytest.raises(goal.TruncatedModelError):
        goal.Graph(path)


def test_damaged_bytes_never_crash(tmp_path):
    data = bytearray(TEXT_MODEL.read_bytes())
    rng = np.random.default_rng(7)
    path = tmp_path / "damaged.onnx"
    for trial in range(40):
        damaged = bytearray(data)
        for at in rng.integers(0, len(data), size=8):
            damaged[at] = int(rng.integers(0, 256))
        path.write_bytes(bytes(damaged))
        try:
            goal.Graph(path).close()
        except goal.GoalError as error:
            assert error.message


def test_missing_external_data():
    with pytest.raises(goal.ExternalDataError, match="weights.bin.*missing"):
        goal.Graph(BAD / "missing_data" / "model.onnx")


def test_short_external_data():
    with pytest.raises(goal.ExternalDataError, match="weights.bin"):
        goal.Graph(BAD / "short_data" / "model.onnx")


def test_external_data_escaping_the_folder():
    with pytest.raises(goal.PathEscapeError, match=r"\.\./outside\.bin"):
        goal.Graph(BAD / "escape" / "model.onnx")
    with pytest.raises(goal.PathEscapeError, match="/etc/passwd"):
        goal.Graph(BAD / "absolute" / "model.onnx")


def _small_model(opset: int, ir_version: int = 8) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 4])
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def test_old_opset_is_converted(tmp_path):
    path = tmp_path / "old.onnx"
    onnx.save(_small_model(opset=9, ir_version=4), path)
    with goal.Graph(path) as graph:
        assert graph.opsets == {"ai.onnx": 9}
        assert any("converted from opset 9" in note for note in graph.diagnostics)
    with pytest.raises(goal.UnsupportedError, match="opset 9"):
        goal.Graph(path, convert_opset=False)


def test_too_new_opset_is_refused(tmp_path):
    path = tmp_path / "new.onnx"
    onnx.save(_small_model(opset=22, ir_version=10), path)
    with pytest.raises(goal.UnsupportedError, match="opset 22.*13–21"):
        goal.Graph(path)


def test_checker_refusal_is_invalid_model(tmp_path):
    # A node reading a value nothing defines: libonnx's checker objects, and so do we.
    model = _small_model(opset=17)
    model.graph.node[0].input[1] = "nowhere"
    path = tmp_path / "dangling.onnx"
    onnx.save(model, path)
    with pytest.raises(goal.InvalidModelError, match="nowhere"):
        goal.Graph(path)
    # Our own consistency check still holds with libonnx's checker off.
    with pytest.raises(goal.InvalidModelError, match="nowhere"):
        goal.Graph(path, check=False)


def test_raw_data_size_mismatch(tmp_path):
    model = _small_model(opset=17)
    model.graph.initializer[0].raw_data = b"\x00" * 12  # 3 floats for a shape of 4
    path = tmp_path / "short_raw.onnx"
    onnx.save(model, path)
    with pytest.raises(goal.InvalidModelError, match="'w'.*12 bytes"):
        goal.Graph(path, check=False)


def test_unsupported_initializer_type(tmp_path):
    model = _small_model(opset=17)
    model.graph.initializer.append(numpy_helper.from_array(np.arange(3, dtype=np.uint32), "u"))
    path = tmp_path / "uint32.onnx"
    onnx.save(model, path)
    with pytest.raises(goal.UnsupportedError, match="'u'.*UINT32"):
        goal.Graph(path)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool"])
def test_initializer_types_load(tmp_path, dtype):
    model = _small_model(opset=17)
    values = np.arange(6).reshape(2, 3).astype(dtype)
    model.graph.initializer.append(numpy_helper.from_array(values, "extra"))
    path = tmp_path / f"{dtype}.onnx"
    onnx.save(model, path)
    with goal.Graph(path) as graph:
        assert graph.initializer_count == 2


def test_bfloat16_initializer_loads(tmp_path):
    model = _small_model(opset=17)
    model.graph.initializer.append(helper.make_tensor("b", onnx.TensorProto.BFLOAT16, [2], [1.0, 2.0]))
    path = tmp_path / "bf16.onnx"
    onnx.save(model, path)
    with goal.Graph(path) as graph:
        assert graph.initializer_count == 2


def test_null_and_out_of_range_through_the_c_layer():
    with pytest.raises(goal.InvalidArgumentError, match="out_graph is NULL"):
        _capi.goal_graph_open(str(TEXT_MODEL).encode(), None, None)
    with pytest.raises(goal.InvalidArgumentError, match="graph is NULL"):
        _capi.goal_graph_ir_version(None, ctypes.byref(ctypes.c_int64()))
    with pytest.raises(goal.InvalidArgumentError, match="UTF-8"):
        _capi.goal_graph_open(b"\xff.onnx", None, ctypes.byref(ctypes.c_void_p()))
    handle = ctypes.c_void_p()
    _capi.goal_graph_open(str(TEXT_MODEL).encode(), None, ctypes.byref(handle))
    try:
        name = ctypes.c_char_p(b"sentinel")
        with pytest.raises(goal.IndexOutOfRangeError, match="index 5"):
            _capi.goal_graph_value_info(handle, _capi.GOAL_IO_OUTPUT, 5, ctypes.byref(name), None, None)
        assert name.value is None  # cleared on failure
        with pytest.raises(goal.InvalidArgumentError, match="GOAL_IO_INPUT"):
            _capi.goal_graph_value_count(handle, 3, ctypes.byref(ctypes.c_size_t()))
    finally:
        _capi.goal_graph_free(handle)
    options = ctypes.c_void_p()
    _capi.goal_options_new(ctypes.byref(options))
    try:
        with pytest.raises(goal.InvalidArgumentError, match="unknown option"):
            _capi.goal_options_set_int(options, 12345, 1)
        with pytest.raises(goal.InvalidArgumentError, match="0 or 1"):
            _capi.goal_options_set_int(options, _capi.GOAL_OPTION_CONVERT_OPSET, -1)
    finally:
        _capi.goal_options_free(options)


def test_error_carries_status_and_message():
    with pytest.raises(goal.GoalError) as caught:
        goal.Graph(BAD / "escape" / "model.onnx")
    assert caught.value.status == _capi.GOAL_ERR_PATH_ESCAPE
    assert "outside the model's folder" in caught.value.message


def test_close_twice_and_context_manager():
    graph = goal.Graph(TEXT_MODEL)
    graph.close()
    graph.close()
    assert graph.inputs  # the signature stays readable
    with goal.Graph(TEXT_MODEL) as graph:
        assert graph.outputs


def _single_node(tmp_path, node, inputs, output_type, initializers=()):
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("y", output_type, None)],
                              list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"{node.op_type}.onnx"
    onnx.save(model, path)
    return goal.Graph(path, check=False)


I64 = onnx.TensorProto.INT64
F32 = onnx.TensorProto.FLOAT


def test_hostile_sizes_are_statuses_not_crashes(tmp_path):
    x = helper.make_tensor_value_info("x", F32, [4])
    s = helper.make_tensor_value_info("s", I64, [None])
    big = np.iinfo(np.int64).max
    # A step of INT64_MAX picks one element; it must not overflow while counting.
    with _single_node(tmp_path, helper.make_node("Slice", ["x", "b", "e", "a", "s"], ["y"]), [x, s], F32,
                      [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
                       (("b", [0]), ("e", [big]), ("a", [0]))]) as g:
        assert g.run({"x": np.arange(4, dtype=np.float32), "s": np.array([big])})["y"].tolist() == [0.0]
    # Sizes whose product overflows, or that no memory holds.
    with _single_node(tmp_path, helper.make_node("Expand", ["x", "s"], ["y"]), [x, s], F32) as g:
        with pytest.raises((goal.InvalidArgumentError, goal.OutOfMemoryError)):
            g.run({"x": np.ones(4, np.float32), "s": np.array([big // 2, 4], np.int64)})
    with _single_node(tmp_path, helper.make_node("Tile", ["x", "s"], ["y"]), [x, s], F32) as g:
        with pytest.raises((goal.InvalidArgumentError, goal.OutOfMemoryError)):
            g.run({"x": np.ones(4, np.float32), "s": np.array([big], np.int64)})
    with _single_node(tmp_path, helper.make_node("ConstantOfShape", ["s"], ["y"]), [s], F32) as g:
        with pytest.raises((goal.InvalidArgumentError, goal.OutOfMemoryError)):
            g.run({"s": np.array([1 << 31, 1 << 31, 1 << 31], np.int64)})
    with _single_node(tmp_path, helper.make_node("Reshape", ["x", "s"], ["y"]), [x, s], F32) as g:
        with pytest.raises(goal.InvalidArgumentError):
            g.run({"x": np.ones(4, np.float32), "s": np.array([big, big, -1], np.int64)})
    r = [helper.make_tensor_value_info(n, I64, []) for n in ("start", "limit", "delta")]
    with _single_node(tmp_path, helper.make_node("Range", ["start", "limit", "delta"], ["y"]), r, I64) as g:
        with pytest.raises(goal.InvalidArgumentError, match="too long"):
            g.run({"start": np.array(-big - 1), "limit": np.array(big), "delta": np.array(1)})


def _matmul_model(weight: onnx.TensorProto) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 32])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_weights_read_in_place_match_onnxruntime(tmp_path):
    # A weight of 8 KiB, large enough to be read from the mapped file rather than parsed, at an
    # odd offset and at an aligned one (the name's length moves the payload): both run as
    # onnxruntime runs them.
    import onnxruntime as ort
    w = np.random.default_rng(3).standard_normal((64, 32)).astype(np.float32)
    x = np.random.default_rng(4).standard_normal((1, 64)).astype(np.float32)
    offsets = set()
    for name in ("w", "ww", "www", "wwww"):
        model = _matmul_model(numpy_helper.from_array(w, "w"))
        model.doc_string = name  # written before the graph: each character moves the payload a byte
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, path)
        offsets.add(path.read_bytes().find(w.tobytes()) % 4)
        expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        with goal.Graph(path) as g:
            np.testing.assert_allclose(g.run({"x": x})["y"], expected, rtol=1e-5, atol=1e-5)
    assert 0 in offsets and len(offsets) > 1, offsets


def test_raw_data_of_the_wrong_size_is_named(tmp_path):
    # 8 KiB of raw data for a tensor whose shape needs 8 KiB + 4 bytes: refused as the tensor it
    # is (inside the file), not as external data.
    weight = onnx.TensorProto(name="w", data_type=onnx.TensorProto.FLOAT, dims=[64, 32])
    weight.dims[1] = 32
    weight.raw_data = np.zeros(64 * 32 - 1, np.float32).tobytes()
    path = tmp_path / "short.onnx"
    path.write_bytes(_matmul_model(weight).SerializeToString())
    with pytest.raises(goal.GoalError) as caught:
        goal.Graph(path)
    assert "'w'" in caught.value.message and "external" not in caught.value.message, caught.value.message
