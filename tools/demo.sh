#!/usr/bin/env bash
# The README's first command: set everything up, then run the demo on the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo
echo "== demo"
.venv/bin/python examples/python/graph_info.py fixtures/models/hf_text_dynamo/model.onnx fixtures/models/hf_vision_external/model.onnx
