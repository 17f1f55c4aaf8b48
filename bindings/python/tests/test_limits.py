"""Limits on hostile sizes: each refuses what is above it with a status naming the limit, before
memory is taken, and changes nothing below it."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import goal
from conftest import FIXTURES

FOLDER = FIXTURES / "folders" / "hf_ts"
IMAGE = FIXTURES / "images" / "astronaut_wide.jpg"  # 384 x 256
CAPTION = "A large red circle is in the top left. To its right, a small blue star."


def test_image_pixels_limit():
    with goal.Model(FOLDER, max_image_pixels=384 * 256) as fits, goal.Model(FOLDER, max_image_pixels=384 * 256 - 1) as small:
        with goal.Model(FOLDER) as default:
            np.testing.assert_array_equal(fits.encode_image([IMAGE]), default.encode_image([IMAGE]))
        with pytest.raises(goal.InvalidArgumentError, match=r"384x256 pixels, above the limit of 98303 pixels"):
            small.encode_image([IMAGE])
        with pytest.raises(goal.InvalidArgumentError, match="above the limit"):
            small.encode_image([IMAGE.read_bytes()])
        with pytest.raises(goal.InvalidArgumentError, match="above the limit"):
            small.encode_image([np.zeros((256, 384, 3), np.uint8)])
        with pytest.raises(goal.InvalidArgumentError, match="above the limit"):
            small.lism(IMAGE, CAPTION)


def test_text_bytes_limit():
    n = len(CAPTION.encode())
    with goal.Model(FOLDER, max_text_bytes=n) as fits, goal.Model(FOLDER, max_text_bytes=n - 1) as small:
        fits.encode_text([CAPTION])
        assert fits.tokenize(CAPTION) == goal.Model(FOLDER).tokenize(CAPTION)
        for call in (lambda: small.encode_text([CAPTION]), lambda: small.tokenize(CAPTION),
                     lambda: small.text_tokens(CAPTION), lambda: small.lism(IMAGE, CAPTION)):
            with pytest.raises(goal.InvalidArgumentError, match=rf"{n} bytes, above the limit of {n - 1} bytes"):
                call()


@pytest.mark.parametrize("value", [0, -5])
def test_limits_must_be_positive(value):
    with pytest.raises(goal.InvalidArgumentError, match="at least 1"):
        goal.Model(FOLDER, max_text_bytes=value)


def test_declared_huge_tensor_refused_at_open(tmp_path):
    # ConstantOfShape of a constant 10^6 x 10^6 shape: 10^12 elements, known at open.
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [1_000_000, 1_000_000])
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"]),
             helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
             helper.make_node("Add", ["x", "total"], ["y"])]
    graph = helper.make_graph(nodes, "bomb", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], [shape])
    path = tmp_path / "bomb.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(goal.OutOfMemoryError, match=r"1000000000000 elements\) is above the limit of 2147483648"):
        goal.Graph(path)


def test_tensor_limit_applies_to_runs(tmp_path):
    # Expand to a shape read from the input: the size is known only at run time.
    nodes = [helper.make_node("Expand", ["x", "shape"], ["y"])]
    graph = helper.make_graph(nodes, "expand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
                                                helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    path = tmp_path / "expand.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    x = np.ones(1, np.float32)
    with goal.Graph(path, max_tensor_elements=100) as g:
        assert g.run({"x": x, "shape": np.array([10, 10])})["y"].shape == (10, 10)
        with pytest.raises(goal.OutOfMemoryError, match=r"\[10, 11\] \(110 elements\) is above the limit of 100"):
            g.run({"x": x, "shape": np.array([10, 11])})
    with goal.Graph(path) as g:
        with pytest.raises(goal.OutOfMemoryError, match="above the limit"):
            g.run({"x": x, "shape": np.array([1 << 20, 1 << 20])})


def test_lism_region_and_sentence_limits():
    boxes = [[150, 90, 230, 170]] * 5
    with goal.Model(FOLDER) as m:
        # whole image + 5 spatial-division regions + 5 boxes = 11
        assert len(m.lism(IMAGE, CAPTION, boxes=boxes, max_regions=11).regions) == 11
        with pytest.raises(goal.InvalidArgumentError, match="11 regions, above the limit of 10"):
            m.lism(IMAGE, CAPTION, boxes=boxes, max_regions=10)
        with pytest.raises(goal.InvalidArgumentError, match="5 boxes and 0 masks are above the limit of 4 regions"):
            m.lism(IMAGE, CAPTION, boxes=boxes, max_regions=4)
        with pytest.raises(goal.InvalidArgumentError, match="2 sentences, above the limit of 1"):
            m.lism(IMAGE, CAPTION, max_sentences=1)
        with pytest.raises(goal.InvalidArgumentError, match="a limit of 0"):
            m.lism(IMAGE, CAPTION, max_sentences=0)
