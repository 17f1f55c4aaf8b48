"""Prints the signature of ONNX model files as libgoal sees them.

    python examples/python/graph_info.py model.onnx [more.onnx ...]
"""

import sys

import goal


def describe(path: str) -> None:
    with goal.Graph(path) as graph:
        print(path)
        print(f"  IR {graph.ir_version}, made by {graph.producer_name} {graph.producer_version}".rstrip())
        print(f"  opsets {graph.opsets}; {graph.node_count} nodes, {graph.initializer_count} initializers")
        for label, values in (("input ", graph.inputs), ("output", graph.outputs)):
            for v in values:
                shape = "?" if v.shape is None else "[" + ", ".join("?" if d is None else str(d) for d in v.shape) + "]"
                print(f"  {label} {v.name:<20} {v.dtype or 'non-tensor':<8} {shape}")
        for note in graph.diagnostics:
            print(f"  note: {note}")


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__.strip())
        return 2
    print(f"goal {goal.__version__} (libgoal {goal.library_version()})")
    failed = 0
    for path in paths:
        try:
            describe(path)
        except goal.GoalError as error:
            print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
