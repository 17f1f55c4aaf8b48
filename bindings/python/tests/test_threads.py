"""Sharing and misuse: one goal.Model used from 8 threads at once (text, image and LISM mixed)
gives exactly the single-threaded results; freed handles and handles of another kind are
reported by the library, not dereferenced."""

import ctypes
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import pytest

import goal
from goal import _capi
from conftest import FIXTURES

FOLDER = FIXTURES / "folders" / "hf_ts"
IMAGE = FIXTURES / "images" / "astronaut_wide.jpg"
TEXTS = [
    "A large red circle is in the top left. To its right, a small blue star.",
    "an astronaut riding a horse on the moon",
    "The background is light gray. A small green square sits in the centre of the picture.",
]


def run(model, kind):
    if kind == 0:
        return model.encode_text(TEXTS)
    if kind == 1:
        return model.encode_image([IMAGE])
    return model.lism(IMAGE, TEXTS[2]).scores


def test_one_model_from_eight_threads_matches_one_thread():
    with goal.Model(FOLDER) as model:
        reference = [run(model, kind) for kind in range(3)]
        jobs = [(t + r) % 3 for t in range(8) for r in range(6)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda kind: (kind, run(model, kind)), jobs))
    for kind, value in results:
        # Bit for bit: the same inputs take the same arithmetic on every thread.
        np.testing.assert_array_equal(value, reference[kind])


def status(call, *args):
    try:
        call(*args)
    except goal.GoalError as error:
        return error.status, str(error)
    return _capi.GOAL_OK, ""


def test_freed_and_foreign_handles_are_reported():
    handle = ctypes.c_void_p()
    _capi.goal_model_open(str(FOLDER).encode(), None, ctypes.byref(handle))
    value = ctypes.c_int64(7)
    _capi.goal_model_free(handle)
    code, message = status(_capi.goal_model_get_int, handle, _capi.GOAL_MODEL_DIM, ctypes.byref(value))
    assert code == _capi.GOAL_ERR_INVALID_ARGUMENT
    assert "not a live model handle" in message
    assert value.value == 0
    _capi.goal_model_free(handle)  # a second free is ignored

    image = ctypes.c_void_p()
    _capi.goal_image_from_file(str(IMAGE).encode(), ctypes.byref(image))
    code, message = status(_capi.goal_model_get_int, image, _capi.GOAL_MODEL_DIM, ctypes.byref(value))
    assert code == _capi.GOAL_ERR_INVALID_ARGUMENT
    assert "model is not a live model handle" in message
    _capi.goal_model_free(image)  # ignored: not a model
    _capi.goal_image_free(image)


def test_closed_model_is_an_error_not_a_crash():
    model = goal.Model(FOLDER)
    model.close()
    with pytest.raises(goal.GoalError, match="closed"):
        model.encode_text(["a cat"])


def test_a_forked_child_runs_models_on_its_own_workers(tmp_path):
    """The engine's worker threads do not survive fork(): a child (multiprocessing's default
    start on Linux) must start its own rather than wait for the parent's."""
    from onnx import TensorProto, helper

    path = tmp_path / "product.onnx"
    node = helper.make_node("MatMul", ["a", "b"], ["c"])
    graph = helper.make_graph([node], "product",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [256, 300]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, [300, 400])],
                              [helper.make_tensor_value_info("c", TensorProto.FLOAT, [256, 400])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    rng = np.random.default_rng(5)
    feeds = {"a": rng.standard_normal((256, 300), dtype=np.float32),
             "b": rng.standard_normal((300, 400), dtype=np.float32)}
    expected = feeds["a"].astype(np.float64) @ feeds["b"].astype(np.float64)
    with goal.Graph(path, threads=2) as graph_handle:
        graph_handle.run(feeds)  # large enough to split: the parent's workers start here
        pid = os.fork()
        if pid == 0:  # the child: report by exit status only, never return into pytest
            try:
                got = graph_handle.run(feeds)["c"]
                os._exit(0 if np.allclose(got, expected, rtol=1e-4, atol=1e-3) else 3)
            except BaseException:
                os._exit(4)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child did not finish its run within 60 s")
            time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
