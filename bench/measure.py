"""Timing, FLOP counting and the sgemm peak: the measuring instruments of the benchmark."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import shape_inference

HERE = Path(__file__).resolve().parent


def stats(seconds: list[float], scale: float = 1000.0) -> dict:
    """min / median / max of a list of durations, in ms by default."""
    values = [s * scale for s in seconds]
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def settle(gap: float, window: float = 0.005, limit: float = 0.5) -> None:
    """Sleeps `gap` seconds, then on until this process has been idle for a `window`: spent less
    than a fifth of one core in it (or `limit` seconds have gone by). onnxruntime's worker threads
    poll for more work for about 40 ms after a run, at a full core each, and a timed call that
    starts in that wake runs on the cores they take."""
    time.sleep(gap)
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        cpu, wall = time.process_time(), time.perf_counter()
        time.sleep(window)
        if time.process_time() - cpu < 0.2 * (time.perf_counter() - wall):
            return


def alternate(calls: dict, repeats: int, warmup: int = 1, gap: float = 0.02) -> dict[str, list[float]]:
    """Times each call `repeats` times, interleaved: goal, ORT, ORT, goal, ... so that neither
    engine always runs in the other's wake (caches, turbo, the page cache). Before each timed
    call the process idles (`settle`: `gap` seconds, then until the previous engine's polling
    threads have gone to sleep), so they do not steal cores from the next one; the idle time is
    not timed."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times = {name: [] for name in calls}
    items = list(calls.items())
    for i in range(repeats):
        for name, call in (items if i % 2 == 0 else items[::-1]):
            settle(gap)
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return times


# ---- FLOPs ----------------------------------------------------------------------------------


class FlopCounter:
    """2·m·n·k for every MatMul, Gemm and Conv of one ONNX file, at given input shapes.

    Shapes come from ONNX shape inference (with data propagation, for Reshape targets computed
    from Shape nodes) on a copy of the graph whose large weights are replaced by typed inputs, so
    that counting a 350 MB tower does not hold its weights. When inference leaves a shape open,
    onnxruntime is asked for the shapes instead (one run with the operands as extra outputs).
    """

    OPS = ("MatMul", "Gemm", "Conv")

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        model = onnx.load(self.path, load_external_data=False)
        graph = model.graph
        keep = []
        for init in graph.initializer:
            size = int(np.prod(init.dims)) if init.dims else 1
            if size > 64 or init.data_location == onnx.TensorProto.EXTERNAL:
                graph.input.append(onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
            else:
                keep.append(init)
        del graph.initializer[:]
        graph.initializer.extend(keep)
        self.light = model
        self.inputs = [i.name for i in graph.input]
        self._cache: dict = {}

    def count(self, feeds: dict[str, np.ndarray]) -> int:
        key = tuple(sorted((k, tuple(v.shape)) for k, v in feeds.items()))
        if key not in self._cache:
            self._cache[key] = self._infer(feeds)
            if self._cache[key] is None:
                self._cache[key] = self._probe(feeds)
        return self._cache[key]

    def _infer(self, feeds) -> int | None:
        model = onnx.ModelProto()
        model.CopyFrom(self.light)
        for value in model.graph.input:
            if value.name in feeds:
                dims = value.type.tensor_type.shape.dim
                for dim, size in zip(dims, feeds[value.name].shape):
                    dim.Clear()
                    dim.dim_value = int(size)
        try:
            inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
        except Exception:
            return None
        shapes = {}
        for value in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
            dims = value.type.tensor_type.shape.dim
            if value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                shapes[value.name] = [d.dim_value for d in dims]
        for init in inferred.graph.initializer:
            shapes[init.name] = list(init.dims)
        return _flops(inferred.graph.node, shapes)

    def _probe(self, feeds) -> int:
        model = onnx.load(self.path)
        names = {n for node in model.graph.node if node.op_type in self.OPS for n in list(node.input) + list(node.output)}
        names -= {i.name for i in model.graph.initializer} | {o.name for o in model.graph.output}
        names.discard("")
        model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(n) for n in sorted(names))
        import onnxruntime as ort

        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outs = session.run(None, feeds)
        shapes = {o.name: list(a.shape) for o, a in zip(session.get_outputs(), outs)}
        shapes.update({i.name: list(i.dims) for i in model.graph.initializer})
        return _flops(model.graph.node, shapes) or 0


def _flops(nodes, shapes) -> int | None:
    total = 0
    for node in nodes:
        if node.op_type not in FlopCounter.OPS:
            continue
        a, b = (shapes.get(node.input[0]), shapes.get(node.input[1]))
        out = shapes.get(node.output[0])
        if a is None or b is None or out is None:
            return None
        if node.op_type == "MatMul":
            k = a[-1]
        elif node.op_type == "Gemm":
            trans_a = next((attr.i for attr in node.attribute if attr.name == "transA"), 0)
            k = a[0] if trans_a else a[1]
        else:  # Conv: every output value is a dot product over (channels / group) x kernel
            k = int(np.prod(b[1:]))
        total += 2 * int(np.prod(out)) * int(k)
    return total


# ---- the sgemm peak -------------------------------------------------------------------------

_SGEMM = """
import json, sys, time
import numpy as np
n, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
c = a @ b; c = a @ b
times = []
for _ in range(repeats):
    start = time.perf_counter(); a @ b; times.append(time.perf_counter() - start)
times.sort()
print(json.dumps({"best": 2 * n**3 / times[0] / 1e9, "median": 2 * n**3 / times[len(times) // 2] / 1e9}))
"""


def sgemm_peak(threads: int, n: int = 2048, repeats: int = 10) -> dict:
    """GFLOP/s of NumPy's float32 n x n matmul on `threads` threads: run in a fresh process with
    OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) set, as they only take effect at start-up."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", _SGEMM, str(n), str(repeats)], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    result = json.loads(out.stdout)
    result.update(n=n, threads=threads, method=f"NumPy float32 {n}x{n} matmul, best of {repeats}, "
                                                 f"OPENBLAS_NUM_THREADS={threads} in a subprocess "
                                                 f"({np.__version__}, {_blas_name()})")
    return result


def _blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        return "its BLAS"


# ---- peak memory ----------------------------------------------------------------------------


def peak_memory(engine: str, path: str, feeds: dict[str, np.ndarray], threads: int) -> dict:
    """The RSS high-water mark of a fresh process that imports `engine`, opens `path` and runs
    it once on inputs of the feeds' shapes and types (see peak_memory.py)."""
    spec = {name: [str(a.dtype), list(a.shape)] for name, a in feeds.items()}
    out = subprocess.run([sys.executable, str(HERE / "peak_memory.py"), engine, str(path), str(threads), json.dumps(spec)],
                         capture_output=True, text=True, timeout=900, env=dict(os.environ))
    if out.returncode != 0:
        raise RuntimeError(f"peak_memory.py {engine} {path} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- other load on the machine --------------------------------------------------------------


class LoadWatch:
    """How much CPU other processes used while a stretch of the benchmark ran: the machine's busy
    time (/proc/stat) minus this process's and its children's (os.times), as a fraction of all
    cores over the wall time. Anything well above zero means the figures were disturbed."""

    def __init__(self):
        self.start = self._snapshot()

    @staticmethod
    def _snapshot():
        try:
            values = [int(v) for v in open("/proc/stat").readline().split()[1:9]]
        except OSError:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        busy = (sum(values) - values[3] - values[4]) / hz  # all but idle and iowait
        t = os.times()
        return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()

    def other(self) -> float | None:
        end = self._snapshot()
        if self.start is None or end is None or end[2] <= self.start[2]:
            return None
        busy, own, wall = (e - s for e, s in zip(end, self.start))
        return max(0.0, busy - own) / (wall * (os.cpu_count() or 1))
