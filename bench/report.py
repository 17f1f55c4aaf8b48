"""The printed tables and the --json file."""

from __future__ import annotations

import json

from sections import SECTIONS

TITLES = {
    "image": "image encode",
    "text": "text encode",
    "load": "model load",
    "memory": "peak memory",
    "tokenizer": "tokenizer throughput",
    "preprocess": "preprocessing throughput",
    "lism": "LISM pooled vs crop",
}


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _triple(st: dict | None) -> str:
    return "-" if not st else f"{_num(st['min'])} / {_num(st['median'])} / {_num(st['max'])}"


def _rate(row: dict, who: str) -> str:
    rate = row.get(f"{who}_gflops")
    return "-" if rate is None else f"{rate:.1f} ({100 * row[f'{who}_peak_fraction']:.0f}%)"


def table(rows: list[dict], notes: dict, header: list[str]) -> str:
    lines = list(header)
    for section in SECTIONS:
        mine = [r for r in rows if r["section"] == section]
        if not mine:
            continue
        cells = [["figure", "unit", "goal min / med / max", "ref min / med / max", "ratio", "goal GFLOP/s (peak)",
                  "ORT GFLOP/s (peak)"]]
        for r in mine:
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f} {r['ratio_kind']}"
            cells.append([r["figure"], r["unit"], _triple(r["goal"]), _triple(r["ort"]), ratio, _rate(r, "goal"),
                          _rate(r, "ort")])
        # Drop the GFLOP/s columns where the section has none.
        keep = [i for i in range(len(cells[0])) if i < 5 or any(c[i] != "-" for c in cells[1:])]
        widths = [max(len(c[i]) for c in cells) for i in keep]
        lines.append("")
        lines.append(f"== {TITLES[section]}")
        for k, c in enumerate(cells):
            lines.append("  ".join(c[i].ljust(w) if j == 0 else c[i].rjust(w) for j, (i, w) in enumerate(zip(keep, widths))))
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        for r in mine:
            if r["note"]:
                lines.append(f"  {r['figure']}: {r['note']}")
        lines.extend("  " + n for n in notes.get(section, []))
    return "\n".join(lines)


def write_json(path, meta: dict, rows: list[dict], notes: dict) -> None:
    with open(path, "w") as out:
        json.dump({"meta": meta, "rows": rows, "notes": notes}, out, indent=2)
