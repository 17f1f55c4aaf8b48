"""The benchmark (bench/run.py) runs end to end: --smoke makes tiny towers into a temporary
folder, checks goal against onnxruntime on them and goes through every section once. Nothing
about speed is asserted; a loaded machine only makes the figures noisier."""

import json
import os
import subprocess
import sys

from conftest import REPO

SECTIONS = {
    "image": "image encode",
    "text": "text encode",
    "load": "model load",
    "memory": "peak memory",
    "tokenizer": "tokenizer throughput",
    "preprocess": "preprocessing throughput",
    "lism": "LISM pooled vs crop",
}


def test_bench_smoke(tmp_path):
    env = dict(os.environ)
    if "GOAL_LIBRARY" in env:
        env["GOAL_LIBRARY"] = os.path.abspath(env["GOAL_LIBRARY"])
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--models", str(tmp_path / "models"),
                             "--json", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    for title in SECTIONS.values():
        assert f"== {title}" in result.stdout, result.stdout
    rows = json.loads(out.read_text())["rows"]
    assert {r["section"] for r in rows} == set(SECTIONS)
    # Every engine-vs-engine figure has both sides, and a FLOP count to turn into GFLOP/s.
    engine = [r for r in rows if r["section"] in ("image", "text") and "engine" in r["figure"]]
    assert engine and all(r["goal"] and r["ort"] and r.get("goal_gflops") for r in engine)
