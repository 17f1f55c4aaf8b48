"""The benchmark's sections. Each takes the run's Context and the towers or folders it is about,
and appends rows (plain dicts, see Context.add) that report.py prints and --json writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import goal

import data
from clip_onnx import CLIP_MEAN, CLIP_STD
from measure import FlopCounter, alternate, peak_memory, stats
from towers import Tower, feeds_for, hf_tokenizer, ort_session, text_ids

SECTIONS = ("image", "text", "load", "memory", "tokenizer", "preprocess", "lism")


@dataclass
class Context:
    threads: int
    repeats: int
    warmup: int
    gap: float
    photos: list
    peak: dict            # sgemm_peak() at `threads`
    smoke: bool = False
    rows: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)  # section -> lines printed under its table
    other_load: dict = field(default_factory=dict)  # section -> other processes' share of the CPU

    def time(self, calls: dict) -> dict:
        return alternate(calls, self.repeats, self.warmup, self.gap)

    def add(self, section: str, figure: str, goal_stats: dict | None, ort_stats: dict | None = None, *,
            unit: str = "ms", ratio: float | None = None, ratio_kind: str = "ORT/goal",
            flops_goal: int | None = None, flops_ort: int | None = None, note: str = "") -> None:
        """One figure. For times (ms, lower is better) the ratio is ORT's median over goal's;
        for rates (x/s) goal's over the reference's; either way > 1 means goal is ahead."""
        if ratio is None and goal_stats and ort_stats:
            a, b = goal_stats["median"], ort_stats["median"]
            ratio = (b / a if unit in ("ms", "MB") else a / b) if a and b else None
        row = {"section": section, "figure": figure, "unit": unit, "goal": goal_stats, "ort": ort_stats,
               "ratio": ratio, "ratio_kind": ratio_kind, "note": note}
        for who, flops, st in (("goal", flops_goal, goal_stats), ("ort", flops_ort, ort_stats)):
            if flops and st:
                row[f"{who}_gflop"] = flops / 1e9
                row[f"{who}_gflops"] = flops / (st["median"] / 1000) / 1e9
        self.rows.append(row)
        self.rescale_peak()

    def rescale_peak(self) -> None:
        """Each GFLOP/s figure as a fraction of the sgemm peak (which may be raised at the end)."""
        for row in self.rows:
            for who in ("goal", "ort"):
                if f"{who}_gflops" in row:
                    row[f"{who}_peak_fraction"] = row[f"{who}_gflops"] / self.peak["best"]


def _rates(seconds: list[float], amount: float) -> dict:
    return stats([amount / s for s in seconds], scale=1.0)


# ---- image ----------------------------------------------------------------------------------


def image(ctx: Context, towers: list[Tower]) -> None:
    for t in towers:
        counter = FlopCounter(t.path)
        session = ort_session(t.path, ctx.threads)
        embeds = session.get_outputs()[0].name
        pixels = t.names["pixels"]
        with goal.Graph(t.path, threads=ctx.threads) as graph, \
                goal.Model(t.folder, threads=ctx.threads, batch_size=16) as model:
            for batch in (1, 16):
                feeds = {pixels: data.pixel_batch(ctx.photos, batch, t.image, t.mean, t.std)}
                flops = counter.count(feeds)
                times = ctx.time({"goal": lambda: graph.run(feeds), "ort": lambda: session.run(None, feeds)})
                ctx.add("image", f"{t.label} batch {batch}, engine", stats(times["goal"]), stats(times["ort"]),
                        flops_goal=flops, flops_ort=flops)
                paths = [str(ctx.photos[i % len(ctx.photos)]) for i in range(batch)]

                def pil_ort():
                    session.run([embeds], {pixels: data.pixel_batch(paths, batch, t.image, t.mean, t.std)})

                times = ctx.time({"goal": lambda: model.encode_image(paths), "ort": pil_ort})
                ctx.add("image", f"{t.label} batch {batch}, files end to end", stats(times["goal"]),
                        stats(times["ort"]), flops_goal=flops, flops_ort=flops)
        del session
    ctx.notes["image"] = [
        "engine: goal.Graph.run and InferenceSession.run on the same [batch,3,H,W] pixels (PIL-preprocessed",
        "  photos), all outputs. end to end: goal.Model.encode_image(paths) vs PIL preprocessing + ORT run.",
        f"photos: {', '.join(Path(p).name for p in ctx.photos)}"]


# ---- text -----------------------------------------------------------------------------------


def text(ctx: Context, towers: list[Tower]) -> None:
    for t in towers:
        counter = FlopCounter(t.path)
        session = ort_session(t.path, ctx.threads)
        embeds = session.get_outputs()[0].name
        hf = hf_tokenizer(t.folder)
        lengths = [t.context] + [n for n in (15, 40, 120) if n < t.context]
        with goal.Graph(t.path, threads=ctx.threads) as graph, \
                goal.Model(t.folder, threads=ctx.threads, batch_size=16) as model:
            for n in lengths:
                width = t.context if t.static else n
                what = "full context" if n == t.context else f"{n} tokens"
                shape = f"[1,{width}]"
                feeds = data.text_feeds(text_ids(model, n), width, t.pad, t.names)
                flops = counter.count(feeds)
                times = ctx.time({"goal": lambda: graph.run(feeds), "ort": lambda: session.run(None, feeds)})
                ctx.add("text", f"{t.label} {what}, engine {shape}", stats(times["goal"]), stats(times["ort"]),
                        flops_goal=flops, flops_ort=flops)
                caption = data.caption_of(lambda s: len(model.tokenize(s, truncate=False)), n)
                goal_flops = None if t.static and n < t.context else flops
                if hf is None:
                    times = ctx.time({"goal": lambda: model.encode_text([caption])})
                    ctx.add("text", f"{t.label} {what}, text end to end", stats(times["goal"]), flops_goal=goal_flops,
                            note="no tokenizer.json: no HF reference")
                    continue

                def hf_ort():
                    session.run([embeds], data.text_feeds(hf.encode(caption).ids, width, t.pad, t.names))

                times = ctx.time({"goal": lambda: model.encode_text([caption]), "ort": hf_ort})
                ctx.add("text", f"{t.label} {what}, text end to end", stats(times["goal"]), stats(times["ort"]),
                        flops_goal=goal_flops, flops_ort=flops)
        del session
    ctx.notes["text"] = [
        "engine: Graph.run and ORT on the same ids at the same shape (a fixed-axis export runs its whole context).",
        "end to end: goal.Model.encode_text(caption) vs HF tokenizers + ORT; both pad only as far as the export",
        "  needs (to the caption's length on a symbolic axis, to the context on a fixed one). Batch 1.",
        "  On a fixed axis goal itself runs only to the caption's length rounded up to 8 (a shortened copy",
        "  of the graph, checked against the full one at first use), so its GFLOP/s is not shown there."]


# ---- load -----------------------------------------------------------------------------------


def load(ctx: Context, towers: list[Tower], folders: list[tuple[str, Path]]) -> None:
    for t in towers:
        times = ctx.time({"goal": lambda: goal.Graph(t.path, threads=ctx.threads).close(),
                          "ort": lambda: ort_session(t.path, ctx.threads)})
        ctx.add("load", f"{t.label} {t.kind} tower: open", stats(times["goal"]), stats(times["ort"]),
                note=f"{t.weight_bytes / 2**20:.0f} MB file")
    for label, folder in folders:
        def reference():
            with goal.Model(folder) as model:  # only to learn the files; not timed
                files = [f for f in (model.files["text_model"], model.files["vision_model"]) if f]
            return files

        files = reference()

        def ort_folder():
            [ort_session(f, ctx.threads) for f in files]
            hf_tokenizer(folder)

        times = ctx.time({"goal": lambda: goal.Model(folder, threads=ctx.threads).close(), "ort": ort_folder})
        ctx.add("load", f"{label} folder: goal.Model vs ORT sessions + tokenizer", stats(times["goal"]),
                stats(times["ort"]))
    ctx.notes["load"] = ["goal.Graph(path) / goal.Model(folder) opening vs InferenceSession creation (+ tokenizers",
                         "  Tokenizer.from_file for a folder), files in the page cache (a warm-up open first)."]


# ---- memory ---------------------------------------------------------------------------------


def memory(ctx: Context, towers: list[Tower]) -> None:
    for t in towers:
        with goal.Model(t.folder) as model:
            feeds = feeds_for(t, model, [1] if t.kind == "vision" else [t.context], ctx.photos)
        mb = 1 / 1024
        found = {engine: peak_memory(engine, str(t.path), feeds, ctx.threads) for engine in ("goal", "ort")}
        weights = t.weight_bytes / 2**20

        def one(value):
            return {"min": value, "median": value, "max": value, "n": 1}

        g, o = found["goal"], found["ort"]
        shape = "x".join(str(s) for s in next(iter(feeds.values())).shape)
        ctx.add("memory", f"{t.label} {t.kind} tower, one run [{shape}]: process peak RSS", one(g["peak_kb"] * mb),
                one(o["peak_kb"] * mb), unit="MB",
                note=f"weights {weights:.0f} MB; over the baseline, goal: {_over(g)}; ORT: {_over(o)}")
        ctx.rows[-1]["detail"] = {"weights_mb": weights, "goal": g, "ort": o}
    ctx.notes["memory"] = [
        "VmHWM of a fresh process that imports one engine, opens the file and runs it once (batch 1; text at",
        "  full context). baseline = the high-water mark after the imports; goal maps the weights from the file,",
        "  so they count in its RSS as they are touched."]


def _over(found: dict) -> str:
    """Peak, peak while opening, and RSS after the run, over the post-import baseline, in MB."""
    base = found["baseline_kb"]
    return (f"peak {(found['peak_kb'] - base) / 1024:.0f} (opening {(found['open_peak_kb'] - base) / 1024:.0f}, "
            f"after the run {(found['rss_after_run_kb'] - base) / 1024:.0f})")


# ---- tokenizer ------------------------------------------------------------------------------


def tokenizer(ctx: Context, folder: Path) -> None:
    texts = data.corpus(300 if ctx.smoke else None)
    hf = hf_tokenizer(folder)
    with goal.Model(folder, threads=ctx.threads) as model:
        ours = [model.tokenize(t, truncate=False) for t in texts]
        tokens = sum(map(len, ours))
        calls = {"goal": lambda: [model.tokenize(t, truncate=False) for t in texts],
                 "goal_batch": lambda: model.tokenize_batch(texts, truncate=False)}
        if hf is not None:
            theirs = [e.ids for e in hf.encode_batch(texts)]
            # goal reads a spelled-out <|endoftext|> in user text as text (README), tokenizers as the
            # special token: those texts differ by design; any other difference is a finding.
            differ = [t for t, a, b in zip(texts, ours, theirs) if a != b]
            special = sum("<|startoftext|>" in t or "<|endoftext|>" in t for t in differ)
            calls["batch"] = lambda: hf.encode_batch(texts)
            calls["one"] = lambda: [hf.encode(t) for t in texts]
        times = ctx.time(calls)
    rate = {name: _rates(seconds, tokens) for name, seconds in times.items()}
    if hf is None:
        ctx.add("tokenizer", "Model.tokenize over the corpus", rate["goal"], unit="tok/s")
        return
    ctx.add("tokenizer", "goal tokenize_batch vs tokenizers encode_batch", rate["goal_batch"], rate["batch"],
            unit="tok/s", ratio_kind="goal/HF")
    ctx.add("tokenizer", "goal vs tokenizers encode, one call per text", rate["goal"], rate["one"], unit="tok/s",
            ratio_kind="goal/HF")
    ctx.notes["tokenizer"] = [
        f"{len(texts)} texts of fixtures/tokenizer/corpus.jsonl, {tokens} tokens; goal: Model.tokenize_batch (one",
        "  C call, the library's threads) and Model.tokenize per text (ctypes, two C calls each); HF: tokenizers'",
        "  Tokenizer from the same tokenizer.json (encode_batch uses",
        f"  its own thread pool, RAYON_NUM_THREADS={ctx.threads}). Texts whose ids differ: {len(differ)}, of which",
        f"  {special} spell out a special token (goal reads it as text, by design) and {len(differ) - special} do not."]


# ---- preprocessing --------------------------------------------------------------------------


def preprocess(ctx: Context, folder: Path) -> None:
    paths = [str(p) for p in ctx.photos] * (2 if ctx.smoke else 8)
    with goal.Model(folder, threads=ctx.threads) as model, goal.Model(folder, threads=1) as single:
        size = model.info.image_size
        times = ctx.time({"goal": lambda: model.encode_image(paths), "goal1": lambda: single.encode_image(paths),
                          "pil": lambda: [data.pil_preprocess(p, size, CLIP_MEAN, CLIP_STD) for p in paths]})
        with goal.Graph(model.files["vision_model"], threads=ctx.threads) as graph:
            pixels = data.pixel_batch(ctx.photos, 16, size, CLIP_MEAN, CLIP_STD)
            tower = stats(ctx.time({"tower": lambda: graph.run({"pixel_values": pixels})})["tower"])
    rate = {name: _rates(seconds, len(paths)) for name, seconds in times.items()}
    ctx.add("preprocess", f"goal encode_image, {ctx.threads} threads, vs PIL + NumPy", rate["goal"], rate["pil"],
            unit="img/s", ratio_kind="goal/PIL")
    ctx.add("preprocess", "goal encode_image, 1 thread, vs PIL + NumPy", rate["goal1"], rate["pil"], unit="img/s",
            ratio_kind="goal/PIL")
    ctx.notes["preprocess"] = [
        f"{len(paths)} photo files decoded and preprocessed to {size} px. goal's preprocessing is not exposed",
        "  alone: its figure is Model.encode_image on a 224 px tower of width 16 and 1 layer, so a lower bound on",
        f"  its preprocessing rate (that tower's run: {tower['median'] / 16:.2f} ms per image at batch 16).",
        "  PIL: open, RGB, bicubic resize, centre crop, normalise in NumPy, one image after another."]


# ---- LISM -----------------------------------------------------------------------------------


def lism(ctx: Context, folders: list[tuple[str, Path]]) -> None:
    photo = str(ctx.photos[0])
    for label, folder in folders:
        with goal.Model(folder, threads=ctx.threads) as model:
            sentences = [s.text for s in model.sentences(data.SENTENCES5)]
            times = ctx.time({
                "encode": lambda: model.encode_image([photo]),
                "sentences": lambda: model.encode_text(sentences),
                "pooled": lambda: model.lism(photo, data.SENTENCES5, mode="pooled"),
                "crop": lambda: model.lism(photo, data.SENTENCES5, mode="crop"),
            })
        base = stats(times["encode"])["median"]
        for name, what in (("encode", "one image encode"), ("sentences", "encode_text, the 5 sentences"),
                           ("pooled", "lism pooled, 6 regions"), ("crop", "lism crop, 6 regions")):
            st = stats(times[name])
            ctx.add("lism", f"{label} {what}", st, ratio=st["median"] / base, ratio_kind="/ encode")
        # What LISM costs beyond what any image-text score needs: encoding the image and the text.
        both = base + stats(times["sentences"])["median"]
        ctx.add("lism", f"{label} lism pooled, 6 regions, against both", stats(times["pooled"]),
                ratio=stats(times["pooled"])["median"] / both, ratio_kind="/ (encode + sentences)")
    ctx.notes["lism"] = [
        "goal only. ratio = median / one image encode, or / (one image encode + encoding the 5 sentences),",
        "  the sum of the medians. Regions: the whole image, four quadrants, the centre box; caption of 5",
        f"  sentences; photo {Path(photo).name}. pooled: one vision pass; crop: one per region."]
