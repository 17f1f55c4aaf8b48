#!/usr/bin/env python3
"""Does GOAL's local training help? Base vs global fine-tune vs GOAL fine-tune on held-out scenes
of the synthetic world, measured end to end through goal on the exported ONNX models.

Reads the three HF-layout folders tools/train_tiny_clip.py exports (default /tmp/world-models/
{base,global,goal}) and, with goal.Model on each, measures on scenes of seeds the training never
saw (tools/world, default seed 1000 for the hard-negative and localisation sets, 1001 for the
retrieval pool):

  hard negatives   each scene against N hard negatives of itself (default 8: two each of
                   colour, shape, size, position changed): text->image R@1 (its caption against
                   its own image and the negatives' images) and image->text R@1 (its image
                   against its own caption and the negatives' captions); chance 1/(N+1). Also
                   per kind: own vs one negative of that kind (colour, shape, size, position,
                   and colour swap), chance 1/2.
  pool             long-caption retrieval over a pool of held-out scenes (default 300):
                   text->image and image->text R@1 and R@5, chance 1/300 and 5/300.
  localisation     goal's LISM/FLISM (m.lism with the spatial division: the whole image, four
                   quadrants, the centre box): for every object sentence (one that names its
                   object's place, kind "object"), is its matched region the quadrant/centre
                   holding the object? Reported with the whole image among the candidates, as
                   m.lism matches (chance 1/6), and among the five spatial regions only (chance
                   1/5), for regions pooled from one vision pass (TSL, goal's default) and
                   cropped (LISM), sentences standalone (default) and span-pooled. The same for
                   "relative" sentences ("To its right, a small blue star."), which do not name
                   the place.

Writes docs/experiment.json (every figure), docs/experiment.png (the plot) and prints a
markdown table (docs/EXPERIMENT.md quotes it).

Run (after tools/train_tiny_clip.py; goal's library must be built or named by GOAL_LIBRARY):

    GOAL_LIBRARY=/path/to/libgoal.so python3 tools/world_experiment.py [--models /tmp/world-models]
        [--scenes 300] [--pool 300] [--negatives 8] [--seed 1000] [--threads 2]

Needs numpy, Pillow, matplotlib and goal's Python binding (bindings/python is put on sys.path).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.append(str(ROOT / "bindings" / "python"))  # after PYTHONPATH, which may name another binding
from world import ALL_KINDS, KINDS, PLACE_REGION, generate, hard_negatives  # noqa: E402

MODELS = ("base", "global", "goal")
LABELS = {"base": "base", "global": "global fine-tune", "goal": "GOAL fine-tune"}


def arrays(scenes):
    return [np.asarray(s.image) for s in scenes]


def hard_negative_figures(m, scenes, n_negatives, seed):
    """R@1 of each scene's own image (caption) among its hard negatives', both ways; and the
    pairwise accuracy per kind."""
    kinds = KINDS * ((n_negatives + len(KINDS) - 1) // len(KINDS))
    negs = [hard_negatives(s, n_negatives, seed=seed, kinds=kinds[:n_negatives]) for s in scenes]
    t = m.encode_text([s.caption for s in scenes])
    v = m.encode_image(arrays(scenes))
    nt = m.encode_text([x.caption for g in negs for x in g]).reshape(len(scenes), n_negatives, -1)
    nv = m.encode_image(arrays([x for g in negs for x in g])).reshape(len(scenes), n_negatives, -1)
    own = (t * v).sum(-1)
    t2i = float(np.mean(own > np.einsum("nd,nkd->nk", t, nv).max(1)))
    i2t = float(np.mean(own > np.einsum("nd,nkd->nk", v, nt).max(1)))
    per_kind = {}
    for kind in ALL_KINDS:
        ok_t2i, ok_i2t = [], []
        usable = []
        for s in scenes:
            try:
                usable.append((s, hard_negatives(s, 1, seed=seed + 1, kinds=(kind,))[0]))
            except RuntimeError:  # e.g. a colour swap in a one-object scene
                pass
        if not usable:
            continue
        own_s = [s for s, _ in usable]
        neg_s = [x for _, x in usable]
        ti, vi = m.encode_text([s.caption for s in own_s]), m.encode_image(arrays(own_s))
        tn, vn = m.encode_text([s.caption for s in neg_s]), m.encode_image(arrays(neg_s))
        ok_t2i = (ti * vi).sum(-1) > (ti * vn).sum(-1)
        ok_i2t = (ti * vi).sum(-1) > (tn * vi).sum(-1)
        per_kind[kind] = {"t2i": float(ok_t2i.mean()), "i2t": float(ok_i2t.mean()), "n": len(usable)}
    return {"t2i_r1": t2i, "i2t_r1": i2t, "negatives": n_negatives, "per_kind": per_kind}


def pool_figures(m, scenes):
    t = m.encode_text([s.caption for s in scenes])
    v = m.encode_image(arrays(scenes))
    sim = t @ v.T
    n = len(scenes)
    rank_t2i = (sim > sim[np.arange(n), np.arange(n)][:, None]).sum(1)  # images above the own one
    rank_i2t = (sim.T > sim[np.arange(n), np.arange(n)][:, None]).sum(1)
    return {"n": n, "t2i_r1": float(np.mean(rank_t2i < 1)), "t2i_r5": float(np.mean(rank_t2i < 5)),
            "i2t_r1": float(np.mean(rank_i2t < 1)), "i2t_r5": float(np.mean(rank_i2t < 5))}


def localisation_figures(m, scenes, mode, sentence_mode):
    """For object and relative sentences: matched region (whole image included, as m.lism
    matches) and best of the five spatial regions, against the region holding the object."""
    hits = {"object": [], "relative": []}
    hits5 = {"object": [], "relative": []}
    for s in scenes:
        r = m.lism(np.asarray(s.image), s.caption, mode=mode, sentence_mode=sentence_mode)
        if [x.text for x in r.sentences] != [x.text for x in s.sentences]:
            raise SystemExit(f"goal split the caption differently from the generator:\n{[x.text for x in r.sentences]}\n"
                             f"{[x.text for x in s.sentences]}")
        sources = [(reg.source, reg.index) for reg in r.regions[:6]]
        if sources != [("whole_image", 0), ("quadrant", 0), ("quadrant", 1), ("quadrant", 2), ("quadrant", 3),
                       ("centre", 0)]:
            raise SystemExit(f"unexpected proposal order {sources}")
        matched = {match.sentence_index: match.region_index for match in r.matches}
        for i, sentence in enumerate(s.sentences):
            if sentence.kind not in hits:
                continue
            truth = PLACE_REGION[sentence.place]
            hits[sentence.kind].append(matched.get(i) == truth)
            hits5[sentence.kind].append(int(np.argmax(r.scores[i, 1:6])) + 1 == truth)
    return {kind: {"with_whole_image": float(np.mean(hits[kind])), "spatial_only": float(np.mean(hits5[kind])),
                   "n": len(hits[kind])} for kind in hits}


def measure(folder, args, scenes, pool):
    import goal

    out = {}
    with goal.Model(str(folder), threads=args.threads) as m:
        out["info"] = {"dim": m.info.dim, "context_length": m.info.context_length, "image_size": m.info.image_size,
                       "patch_size": m.info.patch_size}
        start = time.time()
        out["hard_negatives"] = hard_negative_figures(m, scenes, args.negatives, args.seed)
        out["pool"] = pool_figures(m, pool)
        out["localisation"] = {}
        for mode in ("pooled", "crop"):
            for sentence_mode in ("standalone", "span_pooled"):
                out["localisation"][f"{mode}/{sentence_mode}"] = localisation_figures(m, scenes, mode, sentence_mode)
        out["seconds"] = round(time.time() - start, 1)
    return out


def table(results):
    some = next(iter(results.values()))
    n_neg = some["hard_negatives"]["negatives"]
    chance = {"hard": 1 / (n_neg + 1)}
    lines = ["| measure | chance | " + " | ".join(LABELS[k] for k in results) + " |",
             "| --- | --- | " + " | ".join("---" for _ in results) + " |"]

    def row(name, get, ch):
        lines.append(f"| {name} | {ch} | " + " | ".join(f"{get(r):.3f}" for r in results.values()) + " |")

    row(f"hard negatives ({n_neg} per scene), text→image R@1", lambda r: r["hard_negatives"]["t2i_r1"], f"{chance['hard']:.3f}")
    row(f"hard negatives ({n_neg} per scene), image→text R@1", lambda r: r["hard_negatives"]["i2t_r1"], f"{chance['hard']:.3f}")
    for kind in ALL_KINDS:
        if kind in some["hard_negatives"]["per_kind"]:
            row(f"own vs one {kind} negative, text→image", lambda r, k=kind: r["hard_negatives"]["per_kind"][k]["t2i"], "0.500")
            row(f"own vs one {kind} negative, image→text", lambda r, k=kind: r["hard_negatives"]["per_kind"][k]["i2t"], "0.500")
    n = some["pool"]["n"]
    row(f"pool of {n}, text→image R@1", lambda r: r["pool"]["t2i_r1"], f"{1 / n:.3f}")
    row(f"pool of {n}, text→image R@5", lambda r: r["pool"]["t2i_r5"], f"{5 / n:.3f}")
    row(f"pool of {n}, image→text R@1", lambda r: r["pool"]["i2t_r1"], f"{1 / n:.3f}")
    row(f"pool of {n}, image→text R@5", lambda r: r["pool"]["i2t_r5"], f"{5 / n:.3f}")
    for setting in some["localisation"]:
        for kind in ("object", "relative"):
            row(f"LISM {setting}, {kind} sentences, 6 regions", lambda r, s=setting, k=kind: r["localisation"][s][k]["with_whole_image"], "0.167")
            row(f"LISM {setting}, {kind} sentences, 5 spatial regions", lambda r, s=setting, k=kind: r["localisation"][s][k]["spatial_only"], "0.200")
    return "\n".join(lines)


def headline(r):
    """The figures the choice of the published model rests on, equally weighted: hard-negative
    R@1 both ways, pool R@1 both ways, and LISM localisation with goal's defaults (pooled
    regions, standalone sentences, whole image among the candidates)."""
    return {"hard_t2i": r["hard_negatives"]["t2i_r1"], "hard_i2t": r["hard_negatives"]["i2t_r1"],
            "pool_t2i": r["pool"]["t2i_r1"], "pool_i2t": r["pool"]["i2t_r1"],
            "lism": r["localisation"]["pooled/standalone"]["object"]["with_whole_image"]}


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    some = next(iter(results.values()))
    n_neg = some["hard_negatives"]["negatives"]
    n = some["pool"]["n"]
    panels = [
        ("Retrieval and localisation", [
            (f"T→I R@1\nvs {n_neg} hard neg.", lambda r: r["hard_negatives"]["t2i_r1"], 1 / (n_neg + 1)),
            (f"I→T R@1\nvs {n_neg} hard neg.", lambda r: r["hard_negatives"]["i2t_r1"], 1 / (n_neg + 1)),
            (f"T→I R@1\npool {n}", lambda r: r["pool"]["t2i_r1"], 1 / n),
            (f"I→T R@1\npool {n}", lambda r: r["pool"]["i2t_r1"], 1 / n),
            ("LISM loc.\npooled", lambda r: r["localisation"]["pooled/standalone"]["object"]["with_whole_image"], 1 / 6),
            ("LISM loc.\ncrop", lambda r: r["localisation"]["crop/standalone"]["object"]["with_whole_image"], 1 / 6),
            ("LISM loc.\npooled, span", lambda r: r["localisation"]["pooled/span_pooled"]["object"]["with_whole_image"],
             1 / 6),
        ]),
        ("Own scene vs one hard negative of a kind (text→image)", [
            (kind, lambda r, k=kind: r["hard_negatives"]["per_kind"][k]["t2i"], 0.5)
            for kind in ALL_KINDS if kind in some["hard_negatives"]["per_kind"]
        ]),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), dpi=110, gridspec_kw={"width_ratios": [7, 4.2]})
    colours = {"base": "#9e9e9e", "global": "#4c78a8", "goal": "#e45756", "extra": "#f2b5b4"}
    width = 0.8 / len(results)
    for ax, (title, measures) in zip(axes, panels):
        for k, (name, r) in enumerate(results.items()):
            values = [get(r) for _, get, _ in measures]
            xs = np.arange(len(measures)) + (k - (len(results) - 1) / 2) * width
            ax.bar(xs, values, width, label=LABELS[name], color=colours.get(name, colours["extra"]))
            for x, value in zip(xs, values):
                ax.text(x, value + 0.01, f"{value:.2f}", ha="center", va="bottom", rotation=90,
                        fontsize=6.5)
        for i, (_, _, ch) in enumerate(measures):
            ax.plot([i - 0.45, i + 0.45], [ch, ch], color="black", linestyle=":", linewidth=1)
        ax.set_xticks(np.arange(len(measures)))
        ax.set_xticklabels([m[0] for m in measures], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("accuracy / recall (dotted: chance)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle("Synthetic world, held-out scenes, measured through goal on the ONNX exports", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=Path("/tmp/world-models"))
    parser.add_argument("--scenes", type=int, default=300, help="scenes for the hard-negative and localisation sets")
    parser.add_argument("--pool", type=int, default=300, help="scenes in the retrieval pool")
    parser.add_argument("--negatives", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1000, help="held-out scene seed (the pool uses seed + 1)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=FOLDER",
                        help="also measure this model folder (an ablation), reported under NAME")
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw experiment.png (and reprint the table) from --out's experiment.json")
    args = parser.parse_args()

    if args.plot_only:
        results = json.loads((args.out / "experiment.json").read_text())["results"]
        for name in results:
            LABELS.setdefault(name, name)
        plot(results, args.out / "experiment.png")
        print(table(results))
        return

    scenes = generate(args.seed, args.scenes)
    pool = generate(args.seed + 1, args.pool)
    results = {}
    for name in MODELS:
        folder = args.models / name
        if not folder.is_dir():
            print(f"no {folder}: skipped")
            continue
        print(f"measuring {name} ({folder}) ...", flush=True)
        results[name] = measure(folder, args, scenes, pool)
    for item in args.extra:
        name, _, folder = item.partition("=")
        if not folder:
            raise SystemExit(f"--extra wants NAME=FOLDER, not {item!r}")
        print(f"measuring {name} ({folder}) ...", flush=True)
        LABELS.setdefault(name, name)
        results[name] = measure(Path(folder), args, scenes, pool)
    if not results:
        raise SystemExit(f"no model folders under {args.models}; run tools/train_tiny_clip.py first")
    log_path = args.models / "train_log.json"
    report = {"settings": {"scenes": args.scenes, "pool": args.pool, "negatives": args.negatives,
                           "seed": args.seed, "pool_seed": args.seed + 1, "models": str(args.models),
                       "extra": args.extra},
              "training": json.loads(log_path.read_text()) if log_path.exists() else None,
              "results": results}
    scores = {name: headline(r) for name, r in results.items()}
    for name in scores:
        scores[name]["mean"] = float(np.mean(list(scores[name].values())))
    fine_tunes = [name for name in ("global", "goal") if name in scores]
    better = max(fine_tunes, key=lambda name: scores[name]["mean"]) if fine_tunes else None
    report["headline"] = scores
    report["better_fine_tune"] = better
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "experiment.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(results, args.out / "experiment.png")
    print(table(results))
    print("\nheadline (mean of hard-negative R@1 both ways, pool R@1 both ways, LISM localisation):")
    for name, figures in scores.items():
        print(f"  {LABELS[name]}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    if better:
        print(f"better fine-tune: {better}")
    print(f"\nwrote {args.out / 'experiment.json'} and {args.out / 'experiment.png'}")


if __name__ == "__main__":
    main()
