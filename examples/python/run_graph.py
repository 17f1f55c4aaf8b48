"""Runs a committed CLIP tower on the inputs stored with it and compares with PyTorch.

    python examples/python/run_graph.py fixtures/models/hf_vision_ts

Prints each output's shape and its relative error against the PyTorch outputs saved next to the
model (reference.npz), then asks for one output alone by name, the way any value of the graph,
intermediates included, can be asked for.
"""

import sys
from pathlib import Path

import numpy as np

import goal


def main(folder: str) -> int:
    folder = Path(folder)
    reference = np.load(folder / "reference.npz")
    with goal.Graph(folder / "model.onnx") as graph:
        feeds = {v.name: reference[v.name] for v in graph.inputs}
        print(f"{folder.name}: inputs " + ", ".join(f"{k} {tuple(v.shape)} {v.dtype}" for k, v in feeds.items()))
        outputs = graph.run(feeds)
        for name, value in outputs.items():
            expected = reference[name].astype(np.float64)
            error = np.abs(value.astype(np.float64) - expected).max() / np.abs(expected).max()
            print(f"  {name:18} {str(value.shape):14} {value.dtype}  relative error vs PyTorch {error:.1e}")
        # Any value can be asked for alone, by name: graph outputs as here, or intermediates.
        last = graph.outputs[-1].name
        states = graph.run(feeds, outputs=[last])[last]
        print(f"  read '{last}' alone: shape {states.shape}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip())
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
