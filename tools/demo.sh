#!/usr/bin/env bash
# The README's first command: set everything up, then run the demo on the default model
# (models/goal-tiny, a tiny CLIP trained on a synthetic world of shapes; see its README), then the
# C and Python encoding examples.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo
echo "== the default model on scenes it never saw (examples/python/world_demo.py)"
.venv/bin/python examples/python/world_demo.py --out demo-out
echo
echo "== goal info: what a model folder holds"
.venv/bin/goal info fixtures/folders/hf_248_dynamo
echo
echo "== encoding long captions and images (examples/python/encode.py)"
.venv/bin/python examples/python/encode.py fixtures/folders/hf_ts
echo
echo "== the same from C (examples/c/encode.c, built with pkg-config)"
PKG_CONFIG_PATH=.build/release cc -std=c99 -O2 examples/c/encode.c $(PKG_CONFIG_PATH=.build/release pkg-config --cflags --libs goal) -lm -o .build/release/encode-example
.build/release/encode-example fixtures/folders/openclip_immich --image fixtures/images/astronaut_wide.jpg \
    "an astronaut on a horse" "a cup of coffee"
