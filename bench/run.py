#!/usr/bin/env python3
"""goal against onnxruntime on the same CLIP model files (issue 6).

    .venv/bin/python bench/run.py                       # full-size ViT-B/32, ViT-B/16, 248-token text
    .venv/bin/python bench/run.py --only image,text --repeats 5
    .venv/bin/python bench/run.py --model path/to/clip-folder   # your own export
    .venv/bin/python bench/run.py --smoke --models /tmp/x       # tiny towers, one repeat (CI)

Makes full-size CLIP towers with random weights (no torch, no download) into --models (default
.bench/ in the repository, reused on later runs), checks that goal and onnxruntime agree on
them, then times both, interleaved, on the same thread budget. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
# Benchmark this checkout: its binding and the library it built (GOAL_LIBRARY set by the caller wins).
sys.path.insert(0, str(REPO / "bindings" / "python"))
if (REPO / ".build" / "release" / "libgoal.so").is_file():
    os.environ.setdefault("GOAL_LIBRARY", str(REPO / ".build" / "release" / "libgoal.so"))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(("image", "text", "load", "memory", "tokenizer", "preprocess", "lism")),
                        help="comma-separated sections: image,text,load,memory,tokenizer,preprocess,lism")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per figure and engine (default 10; smoke 1)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--threads", type=int, default=_cores(), help="threads for both engines (default: the cores)")
    parser.add_argument("--models", type=Path, default=REPO / ".bench", help="where made model folders are kept")
    parser.add_argument("--model", type=Path, help="bench this model folder instead of the made ones")
    parser.add_argument("--sizes", default="b32,b16,text248",
                        help="made models to bench: b32 (ViT-B/32 + 77-token text), b16 (ViT-B/16), text248")
    parser.add_argument("--static-text", action="store_true",
                        help="make the text towers with a fixed sequence axis and a baked causal mask")
    parser.add_argument("--gap", type=float, default=20, help="idle ms before each timed call (default 20)")
    parser.add_argument("--smoke", action="store_true", help="tiny towers, 1 repeat: checks the benchmark runs")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.smoke else 10
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    args = parse(argv)
    # tokenizers' encode_batch sizes its pool from these when it first runs.
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))
    os.environ.setdefault("RAYON_RS_NUM_CPUS", str(args.threads))

    import numpy as np
    import onnxruntime as ort

    import goal
    import clip_onnx
    import data
    import measure
    import report
    import sections
    from towers import checked, towers_of

    unknown = set(args.only) - set(sections.SECTIONS)
    if unknown:
        print(f"run.py: unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(sections.SECTIONS)}",
              file=sys.stderr)
        return 2
    cache = args.models.resolve()
    cache.mkdir(parents=True, exist_ok=True)

    # Other work on the machine skews every figure; the header shows what was running at the start.
    load_average = " ".join(f"{x:.2f}" for x in os.getloadavg())
    log(f"sgemm peak on {args.threads} thread(s)")
    n = 256 if args.smoke else 2048
    peak = measure.sgemm_peak(args.threads, n=n, repeats=3 if args.smoke else 10)
    peak1 = measure.sgemm_peak(1, n=n, repeats=3 if args.smoke else 10)
    start_peak = peak["best"]

    specs = (clip_onnx.smoke_size if args.smoke else clip_onnx.full_size)(args.static_text)
    photos = data.photos(None if args.smoke else cache)
    suffix = " static" if args.static_text else ""
    towers, folders = [], []
    made = args.model is None
    if args.model is not None:
        folder = args.model.resolve()
        towers = towers_of(folder, folder.name)
        folders = [(folder.name, folder)]
    else:
        labels = {"b32": ("ViT-B/32", "text-77" + suffix), "b16": ("ViT-B/16", "text-77" + suffix),
                  "text248": ("text-248" + suffix, None)}
        for key in [k.strip() for k in args.sizes.split(",") if k.strip()]:
            if key not in labels:
                print(f"run.py: unknown size {key!r}; choose from {', '.join(labels)}", file=sys.stderr)
                return 2
            log(f"model folder {specs[key].name} (made once into {cache})")
            folder = clip_onnx.make_folder(cache, specs[key])
            for t in towers_of(folder, *labels[key]):
                if not any(t.path.samefile(u.path) for u in towers):  # b16 shares b32's text tower
                    towers.append(t)
            if specs[key].text and specs[key].vision:
                folders.append((labels[key][0], folder))
    pre224 = clip_onnx.make_folder(cache, specs["pre224"]) if "preprocess" in args.only else None

    checks = {}
    for t in towers:
        log(f"checking {t.label} {t.kind} tower against onnxruntime")
        checks[f"{t.label} {t.kind}"] = result = checked(t, args.threads, photos, cache_result=made)
        worst = min(o["min_cosine"] for o in result["outputs"].values())
        e2e = result.get("end_to_end_cosine")
        if e2e is not None and e2e < 0.999:
            log(f"warning: {t.label} {t.kind}: goal.Model's end-to-end embedding differs from tokenizers/PIL + ORT "
                f"(cosine {e2e:.6f})")
        log(f"  min cosine {worst:.7f}" + (f", end to end {e2e:.7f}" if e2e is not None else ""))

    ctx = sections.Context(threads=args.threads, repeats=args.repeats, warmup=args.warmup, gap=args.gap / 1000,
                           photos=photos, peak=peak, smoke=args.smoke)
    vision = [t for t in towers if t.kind == "vision"]
    text = [t for t in towers if t.kind == "text"]
    whole = measure.LoadWatch()
    for section in args.only:
        log(f"section {section}")
        watch = measure.LoadWatch()
        if section == "image":
            sections.image(ctx, vision)
        elif section == "text":
            sections.text(ctx, text)
        elif section == "load":
            sections.load(ctx, towers, folders)
        elif section == "memory":
            sections.memory(ctx, towers)
        elif section == "tokenizer" and text:
            sections.tokenizer(ctx, text[0].folder)
        elif section == "preprocess":
            sections.preprocess(ctx, pre224)
        elif section == "lism":
            sections.lism(ctx, folders)
        other = watch.other()
        ctx.other_load[section] = other
        if other is not None and other > 0.05:
            ctx.notes.setdefault(section, []).append(
                f"WARNING: other processes used {100 * other:.0f}% of the machine's CPU during this section.")
    other = whole.other()

    # The peak again at the end; the higher of the two is the machine's capability.
    log("sgemm peak again")
    peak_end = measure.sgemm_peak(args.threads, n=n, repeats=3 if args.smoke else 10)
    if peak_end["best"] > peak["best"]:
        peak.update(peak_end)
    peak["start_and_end"] = [start_peak, peak_end["best"]]
    ctx.rescale_peak()

    meta = {
        "cpu": _cpu(), "threads": args.threads, "cores": _cores(), "repeats": args.repeats, "warmup": args.warmup,
        "gap_ms": args.gap, "load_average": load_average, "smoke": args.smoke, "static_text": args.static_text,
        "goal_version": goal.library_version(), "goal_library": os.environ.get("GOAL_LIBRARY", "(installed package)"),
        "onnxruntime": ort.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "sgemm_peak": peak, "sgemm_peak_1_thread": peak1, "checks": checks,
        "other_load": {"whole_run": other, **ctx.other_load},
        "models": str(args.model) if args.model else {t.label + " " + t.kind: str(t.path) for t in towers},
    }
    header = [
        f"goal {meta['goal_version']} ({meta['goal_library']}) vs onnxruntime {ort.__version__}"
        + ("   [SMOKE: tiny towers, timings meaningless]" if args.smoke else ""),
        f"{meta['cpu']}, {args.threads} thread(s) of {meta['cores']}; {args.repeats} timed run(s) per figure after "
        f"{args.warmup} warm-up, goal and ORT interleaved; load average at start {meta['load_average']}",
        f"sgemm peak: {peak['best']:.1f} GFLOP/s on {args.threads} thread(s) (best of the start's "
        f"{start_peak:.1f} and the end's {peak_end['best']:.1f}), {peak1['best']:.1f} on 1 thread; {peak['method']}",
        "other processes' CPU use during the run: "
        + ("unknown" if other is None else f"{100 * other:.0f}% of the machine"
           + (" -- WARNING: figures disturbed" if other > 0.05 else "")),
        "ratio > 1: goal ahead (ORT/goal for times and memory, goal/reference for rates). "
        "GFLOP/s: 2mnk of every MatMul/Gemm/Conv at the run's shapes / median time.",
    ]
    print(report.table(ctx.rows, ctx.notes, header))
    if args.json:
        report.write_json(args.json, meta, ctx.rows, ctx.notes)
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
