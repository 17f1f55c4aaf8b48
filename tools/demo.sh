#!/usr/bin/env bash
# The README's first command: set everything up, then run the demo on the default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
echo
echo "== demo"
.venv/bin/python examples/python/graph_info.py fixtures/models/hf_text_dynamo/model.onnx fixtures/models/hf_vision_external/model.onnx
echo
for model in hf_text_ts hf_vision_dynamo openclip_text_ts hf_text248_ts; do
    .venv/bin/python examples/python/run_graph.py "fixtures/models/$model"
done
