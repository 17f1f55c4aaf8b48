"""One engine, one model, one run, in a process of its own: prints the RSS high-water marks.

    python bench/peak_memory.py goal|ort MODEL.onnx THREADS '{"input": ["dtype", [shape]], ...}'

Run by measure.peak_memory. Nothing else is imported (not onnx, which would parse the model and
inflate the figure); `baseline` is the high-water mark after the imports, before the model is
opened, so `peak - baseline` is what opening and running the model cost.
"""

import json
import sys

import numpy as np


def high_water_kb() -> tuple[int, int]:
    """(VmHWM, VmRSS) of this process in KiB, from /proc/self/status."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    return found["VmHWM"], found["VmRSS"]


def main():
    engine, path, threads, spec = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    rng = np.random.default_rng(0)
    feeds = {}
    for name, (dtype, shape) in spec.items():
        if dtype == "int64":  # token ids: start, words, end, then end-token padding (HF)
            ids = np.full(shape, 49407, np.int64)
            ids[:, 0] = 49406
            ids[:, 1:-1] = rng.integers(300, 40000, (shape[0], shape[1] - 2))
            feeds[name] = ids if "mask" not in name else np.ones(shape, np.int64)
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    if engine == "goal":
        import goal

        baseline = high_water_kb()
        model = goal.Graph(path, threads=threads)
        opened = high_water_kb()
        model.run(feeds)
    else:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        baseline = high_water_kb()
        model = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        opened = high_water_kb()
        model.run(None, feeds)
    peak = high_water_kb()
    print(json.dumps({"baseline_kb": baseline[0], "open_peak_kb": opened[0], "open_rss_kb": opened[1],
                      "peak_kb": peak[0], "rss_after_run_kb": peak[1]}))


if __name__ == "__main__":
    main()
