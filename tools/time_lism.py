#!/usr/bin/env python3
"""Times LISM in its two modes against one image encode, on any model folder.

    .venv/bin/python tools/time_lism.py MODEL_FOLDER [IMAGE] [--repeats N] [--threads T]

The regions are FLISM's default six (the whole image, four quadrants, the centre box); the
caption has five sentences. `pooled` needs one vision pass for all six regions, `crop` one per
region; both also encode the sentences. Prints min / median / max milliseconds per call and the
ratios of the medians to one image encode. (Issue 6's benchmark will hold the full speed suite.)
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import goal  # noqa: E402

CAPTION = ("A tabby cat sits on a wooden floor. Its fur is striped brown and black. "
           "Its green eyes look at the camera. A white wall stands behind it. Light falls from the left.")


def timed(call, repeats):
    call()  # warm-up: plans, buffers, the token head's discovery
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("image", nargs="?", default=str(ROOT / "fixtures" / "images" / "chelsea_422.jpg"))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    with goal.Model(args.model, threads=args.threads) as m:
        print(f"{args.model}: {m.info}")
        rows = [("encode_image (1 image)", timed(lambda: m.encode_image([args.image]), args.repeats)),
                ("encode_text (5 sentences)", timed(lambda: m.encode_text([s.text for s in m.sentences(CAPTION)]), args.repeats)),
                ("lism pooled, 6 regions", timed(lambda: m.lism(args.image, CAPTION, mode="pooled"), args.repeats)),
                ("lism crop, 6 regions", timed(lambda: m.lism(args.image, CAPTION, mode="crop"), args.repeats))]
    base = rows[0][1][1]
    print(f"{'':28s} {'min':>9s} {'median':>9s} {'max':>9s}  median / one image encode")
    for name, (lo, mid, hi) in rows:
        print(f"{name:28s} {lo:9.1f} {mid:9.1f} {hi:9.1f}  {mid / base:.2f}x")


if __name__ == "__main__":
    main()
