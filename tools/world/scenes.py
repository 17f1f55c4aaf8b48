"""A small synthetic world of coloured shapes, with long captions and hard negatives.

Every scene is an image of 1-5 objects, at most one in each of five places (top left, top
right, bottom left, bottom right, centre), on a plain or textured background, with a long
caption: one sentence per object, sometimes a sentence placing an object relative to the one
before ("To its right, a small blue star."), sometimes relations between two objects ("The red
circle is above the green square."), an optional count sentence and a sentence about the
background. Each object sentence knows the box of its object, so region-sentence matching
(LISM / FLISM) has a ground truth: the place that holds the object.

Everything is deterministic: scene `index` of `seed` is the same whatever `n` is asked for
(numpy's PCG64 seeded with [seed, index]; captions and boxes are exact everywhere, pixels are
Pillow's polygon drawing, no fonts). goal-tiny was trained on seeds 1 and 2 and validated on
999; tools/world_experiment.py tests on 1000 and 1001: tests and demos should use other seeds.

API (with `tools/` on sys.path, ``from world import generate, ...``; from the repository root,
``from tools.world import generate, ...``):

    generate(seed, n, size=96, start=0) -> list[Scene]
                                                    scenes start..start+n-1 of `seed`, each
                                                    size x size px (goal-tiny sees 64 px after
                                                    CLIP's resize; 96 is what it trained on)
    make_scene(seed, index, size=96) -> Scene       one of them
    hard_negatives(scene, n, seed=0, kinds=KINDS) -> list[Scene]
                                                    n distinct copies of the scene with one
                                                    thing changed each (scene.change says
                                                    what); kinds are used in turn, a kind that
                                                    cannot apply is skipped; RuntimeError if n
                                                    distinct ones cannot be made (e.g. "swap"
                                                    with one object), ValueError for an
                                                    unknown kind
    scene.negatives(n, seed=0, kinds=KINDS)         the same, as a method
    spatial_regions(size) -> list[box]              FLISM's proposals in goal's order: whole
                                                    image, top-left, top-right, bottom-left,
                                                    bottom-right quadrants, centre box
    PLACE_REGION[place] -> int                      the index in that list holding an object
                                                    at `place` (1-5; 0 is the whole image)
    render(spec) -> PIL.Image, describe(spec) -> (caption, sentences)
                                                    the two halves of a scene, from its Spec

Scene fields:
    spec       Spec(objects, background, phrasing, size): what is in the image (frozen
               dataclasses; Obj(shape, colour, size, place, cx, cy) with the centre in
               fractions of the image side; Background(colour, texture, phase))
    image      PIL.Image, RGB, size x size (square: CLIP's resize + centre crop keep all of it)
    caption    str, the sentences joined by single spaces
    sentences  list[SceneSentence(text, start, end, kind, box, place, obj)]:
               [start, end) are character offsets in the caption; kind is "object" (names the
               object's place), "relative" (places the object relative to the previous
               sentence's object), "relation" (two objects), "count" or "background"; box is
               (x0, y0, x1, y1) in pixels of the object the sentence is about (object and
               relative sentences), else None; place is that object's place, obj its index
               in spec.objects
    change     None for a generated scene; for a hard negative, a short description such as
               "colour: red circle -> blue circle" (kind first: colour, shape, size, position,
               swap)
    region     property: for each sentence, PLACE_REGION[place] or None

Hard negative kinds (KINDS = colour, shape, size, position; "swap" is available too):
    colour     one object's colour changes (to one no other object of its shape has)
    shape      one object's shape changes
    size       one object's size flips (small <-> large; its centre stays)
    position   one object moves to a free place, or, with all five places taken, two objects
               swap places
    swap       two objects swap colours (attribute binding)
The negative keeps the phrasing seed, so its caption uses the same templates and order; an
attribute change alters the words about that object only. Negatives never repeat a
(colour, shape) pair inside a scene, so "the red circle" always names one object.

Run as a script to write a few example scenes (PNG + caption) to a folder:

    python3 tools/world/scenes.py OUT_DIR [--seed 0] [--n 8] [--size 96]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star")
COLOURS = {
    "red": (220, 35, 35),
    "green": (35, 165, 60),
    "blue": (40, 80, 225),
    "yellow": (245, 215, 40),
    "purple": (140, 55, 185),
    "orange": (245, 135, 25),
    "white": (250, 250, 250),
    "black": (15, 15, 15),
}
SIZES = ("small", "large")
PLACES = ("top left", "top right", "bottom left", "bottom right", "centre")
BACKGROUNDS = {
    "light gray": (200, 200, 200),
    "dark gray": (95, 95, 95),
    "beige": (228, 212, 178),
    "light blue": (172, 204, 236),
    "light green": (188, 226, 184),
    "pink": (242, 196, 210),
}
TEXTURES = ("plain", "stripes", "dots", "checks")
KINDS = ("colour", "shape", "size", "position")
ALL_KINDS = KINDS + ("swap",)

# Index of the region holding an object at each place, in goal's FLISM proposal order
# (0 = whole image, 1-4 = quadrants TL, TR, BL, BR, 5 = centre box).
PLACE_REGION = {"top left": 1, "top right": 2, "bottom left": 3, "bottom right": 4, "centre": 5}

# Centre of each place in fractions of the side; quadrant objects are pushed up to JITTER
# towards their corner, so that a large object stays inside its quadrant and out of the centre
# object's way.
_ANCHOR = {"top left": (0.25, 0.25), "top right": (0.75, 0.25), "bottom left": (0.25, 0.75),
           "bottom right": (0.75, 0.75), "centre": (0.5, 0.5)}
_TOWARD_CORNER = {"top left": (-1, -1), "top right": (1, -1), "bottom left": (-1, 1),
                  "bottom right": (1, 1), "centre": (0, 0)}
JITTER = 0.035
CENTRE_JITTER = 0.01
RADIUS = {"small": 0.075, "large": 0.12}  # half-extent of the shape, fraction of the side
SUPERSAMPLE = 4


@dataclass(frozen=True)
class Obj:
    shape: str
    colour: str
    size: str
    place: str
    cx: float  # centre, fractions of the image side
    cy: float

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass(frozen=True)
class Background:
    colour: str
    texture: str
    phase: float  # offset of the texture pattern, fraction of its period


@dataclass(frozen=True)
class Spec:
    objects: tuple[Obj, ...]
    background: Background
    phrasing: int  # seed of the caption's template choices
    size: int


@dataclass(frozen=True)
class SceneSentence:
    text: str
    start: int
    end: int
    kind: str
    box: tuple[float, float, float, float] | None
    place: str | None
    obj: int | None


@dataclass
class Scene:
    spec: Spec
    image: Image.Image
    caption: str
    sentences: list[SceneSentence]
    change: str | None = None

    @property
    def region(self) -> list[int | None]:
        return [PLACE_REGION[s.place] if s.place else None for s in self.sentences]

    def negatives(self, n: int, seed: int = 0, kinds=KINDS) -> list["Scene"]:
        return hard_negatives(self, n, seed=seed, kinds=kinds)


# ------------------------------------------------------------------------------------------------
# Geometry and rendering
# ------------------------------------------------------------------------------------------------

def spatial_regions(size: int) -> list[tuple[float, float, float, float]]:
    """FAST-GOAL's proposals for a size x size image, in goal's order: the whole image, the
    quadrants top-left, top-right, bottom-left, bottom-right, and the centre box."""
    s, h = float(size), size / 2
    return [(0.0, 0.0, s, s), (0.0, 0.0, h, h), (h, 0.0, s, h), (0.0, h, h, s), (h, h, s, s),
            (s / 4, s / 4, 3 * s / 4, 3 * s / 4)]


def _polygon(obj: Obj, side: float) -> list[tuple[float, float]] | None:
    """The shape's outline in pixels of a side x side canvas (None for a circle)."""
    r = RADIUS[obj.size] * side
    cx, cy = obj.cx * side, obj.cy * side
    if obj.shape == "square":
        q = r * 0.88
        return [(cx - q, cy - q), (cx + q, cy - q), (cx + q, cy + q), (cx - q, cy + q)]
    if obj.shape == "triangle":
        # Pointing up, a little larger than the circle so that the areas are comparable; the
        # centroid sits slightly below the centre so the box stays centred.
        t = r * 1.12
        return [(cx, cy - t), (cx + t, cy + t * 0.8), (cx - t, cy + t * 0.8)]
    if obj.shape == "star":
        outer, inner = r * 1.12, r * 1.12 * 0.45
        points = []
        for k in range(10):
            angle = -np.pi / 2 + k * np.pi / 5
            radius = outer if k % 2 == 0 else inner
            points.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
        return points
    return None


def object_box(obj: Obj, size: int) -> tuple[float, float, float, float]:
    """The object's tight box (x0, y0, x1, y1) in pixels of the size x size image."""
    poly = _polygon(obj, size)
    if poly is None:
        r = RADIUS[obj.size] * size
        cx, cy = obj.cx * size, obj.cy * size
        return (float(cx - r), float(cy - r), float(cx + r), float(cy + r))
    xs, ys = [float(p[0]) for p in poly], [float(p[1]) for p in poly]
    return (min(xs), min(ys), max(xs), max(ys))


def _tint(rgb, amount):
    return tuple(int(max(0, min(255, c + amount))) for c in rgb)


def _draw_background(draw: ImageDraw.ImageDraw, bg: Background, side: int):
    base = BACKGROUNDS[bg.colour]
    draw.rectangle((0, 0, side, side), fill=base)
    # Patterns a shade darker (lighter on the dark background), never a shape's colour.
    other = _tint(base, 28 if sum(base) < 384 else -26)
    if bg.texture == "stripes":
        period = side / 8
        width = period * 0.38
        offset = bg.phase * period
        # Diagonal stripes: bands of x + y.
        k = -2
        while k * period < 2 * side:
            a = k * period + offset
            draw.polygon([(a, 0), (a + width, 0), (a + width - side, side), (a - side, side)], fill=other)
            k += 1
    elif bg.texture == "dots":
        period = side / 7
        r = period * 0.17
        offset = bg.phase * period
        for i in range(-1, 9):
            for j in range(-1, 9):
                x, y = i * period + offset + (period / 2 if j % 2 else 0), j * period + offset
                draw.ellipse((x - r, y - r, x + r, y + r), fill=other)
    elif bg.texture == "checks":
        period = side / 6
        offset = bg.phase * period
        for i in range(-1, 8):
            for j in range(-1, 8):
                if (i + j) % 2 == 0:
                    x, y = i * period + offset, j * period + offset
                    draw.rectangle((x, y, x + period, y + period), fill=other)


def render(spec: Spec) -> Image.Image:
    """The scene's image: drawn SUPERSAMPLE times larger, then reduced (antialiased edges)."""
    side = spec.size * SUPERSAMPLE
    image = Image.new("RGB", (side, side))
    draw = ImageDraw.Draw(image)
    _draw_background(draw, spec.background, side)
    fill_outline = {"white": (120, 120, 120), "black": (200, 200, 200)}
    for obj in spec.objects:
        colour = COLOURS[obj.colour]
        poly = _polygon(obj, side)
        # A thin outline keeps white and black objects visible on any background.
        outline = fill_outline.get(obj.colour)
        width = max(1, SUPERSAMPLE) if outline else 0
        if poly is None:
            r = RADIUS[obj.size] * side
            cx, cy = obj.cx * side, obj.cy * side
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=outline, width=width)
        else:
            draw.polygon(poly, fill=colour, outline=outline, width=width)
    return image.resize((spec.size, spec.size), Image.Resampling.BOX)


# ------------------------------------------------------------------------------------------------
# Captions
# ------------------------------------------------------------------------------------------------

_NUMBER = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}

_OBJECT_TEMPLATES = (
    "A {size} {colour} {shape} is in the {place}.",
    "In the {place} there is a {size} {colour} {shape}.",
    "There is a {size} {colour} {shape} in the {place}.",
    "The {place} holds a {size} {colour} {shape}.",
    "A {size} {colour} {shape} sits in the {place}.",
    "We see a {size} {colour} {shape} in the {place}.",
)
_PLACE_WORDS = {
    "top left": ("top left", "top left corner", "upper left"),
    "top right": ("top right", "top right corner", "upper right"),
    "bottom left": ("bottom left", "bottom left corner", "lower left"),
    "bottom right": ("bottom right", "bottom right corner", "lower right"),
    "centre": ("centre", "middle", "center"),
}
# Relative placement of b with respect to a (a's place, b's place) -> direction word.
_RELATIVE = {}
for _row in (("top left", "top right"), ("bottom left", "bottom right")):
    _RELATIVE[_row] = "right"
    _RELATIVE[_row[::-1]] = "left"
for _col in (("top left", "bottom left"), ("top right", "bottom right")):
    _RELATIVE[_col] = "below"
    _RELATIVE[_col[::-1]] = "above"
_RELATIVE_TEMPLATES = {
    "right": ("To its right, a {size} {colour} {shape}.", "To the right of it is a {size} {colour} {shape}."),
    "left": ("To its left, a {size} {colour} {shape}.", "To the left of it is a {size} {colour} {shape}."),
    "below": ("Below it, a {size} {colour} {shape}.", "Under it there is a {size} {colour} {shape}."),
    "above": ("Above it, a {size} {colour} {shape}.", "Over it there is a {size} {colour} {shape}."),
}
_RELATION_WORDS = {"right": ("to the right of", "right of"), "left": ("to the left of", "left of"),
                   "below": ("below", "under"), "above": ("above", "over")}
_RELATION_TEMPLATES = (
    "The {a} is {rel} the {b}.",
    "The {a} lies {rel} the {b}.",
)
_TEXTURE_WORDS = {"stripes": ("with stripes", "striped"), "dots": ("with dots", "dotted"),
                  "checks": ("with a checkerboard pattern", "checkered")}
_COUNT_TEMPLATES = ("An image of {n} {shapes}.", "There are {n} {shapes} in this picture.",
                    "A picture with {n} {shapes}.")


def _background_sentence(bg: Background, rng: np.random.Generator) -> str:
    if bg.texture == "plain":
        options = (f"The background is plain {bg.colour}.", f"The background is {bg.colour}.",
                   f"Everything is on a plain {bg.colour} background.")
    else:
        with_, adjective = _TEXTURE_WORDS[bg.texture]
        options = (f"The background is {bg.colour}, {with_}.", f"The background is {adjective} {bg.colour}.",
                   f"Everything is on a {bg.colour} background {with_}.")
    return options[int(rng.integers(len(options)))]


def describe(spec: Spec) -> tuple[str, list[SceneSentence]]:
    """The caption of a scene and its sentences. Every random choice comes from rngs seeded by
    spec.phrasing and the object's index, so changing one object's attributes changes only the
    words about that object."""
    objects = spec.objects
    n = len(objects)
    order = [int(k) for k in np.random.default_rng([spec.phrasing, 1]).permutation(n)]
    head = np.random.default_rng([spec.phrasing, 2])
    count_first = head.random() < 0.35
    background_first = head.random() < 0.3
    n_relations = int(head.choice([0, 1, 1, 2, 2]))
    relative_wish = head.random() < 0.6  # may place an object relative to the one before it

    pieces: list[tuple[str, str, int | None]] = []  # (text, kind, obj)
    if count_first:
        shapes = "shapes" if n > 1 else "shape"
        pieces.append((_COUNT_TEMPLATES[int(head.integers(len(_COUNT_TEMPLATES)))].format(
            n=_NUMBER[n], shapes=shapes).capitalize(), "count", None))
    if background_first:
        pieces.append((_background_sentence(spec.background, np.random.default_rng([spec.phrasing, 3])),
                       "background", None))
    previous = None
    for i in order:
        obj = objects[i]
        rng = np.random.default_rng([spec.phrasing, 100 + i])
        words = dict(size=obj.size, colour=obj.colour, shape=obj.shape)
        direction = _RELATIVE.get((objects[previous].place, obj.place)) if previous is not None else None
        use_relative = direction is not None and relative_wish and rng.random() < 0.7
        template_pick, place_pick = rng.random(), rng.random()
        if use_relative:
            options = _RELATIVE_TEMPLATES[direction]
            text = options[int(template_pick * len(options))].format(**words)
            kind = "relative"
        else:
            places = _PLACE_WORDS[obj.place]
            text = _OBJECT_TEMPLATES[int(template_pick * len(_OBJECT_TEMPLATES))].format(
                place=places[int(place_pick * len(places))], **words)
            kind = "object"
        pieces.append((text[0].upper() + text[1:], kind, i))
        previous = i
    # Relations between two objects sharing a row or a column.
    pairs = [(a, b) for a in range(n) for b in range(n)
             if a != b and (objects[a].place, objects[b].place) in _RELATIVE]
    rel_rng = np.random.default_rng([spec.phrasing, 4])
    if pairs and n_relations:
        picks = rel_rng.permutation(len(pairs))[:n_relations]
        for k in sorted(picks):
            a, b = pairs[k]
            # direction of b relative to a; the sentence says where a is relative to b.
            where_a = {"right": "left", "left": "right", "below": "above", "above": "below"}[
                _RELATIVE[(objects[a].place, objects[b].place)]]
            rel = _RELATION_WORDS[where_a][int(rel_rng.integers(2))]
            template = _RELATION_TEMPLATES[int(rel_rng.integers(len(_RELATION_TEMPLATES)))]
            pieces.append((template.format(a=objects[a].name, b=objects[b].name, rel=rel), "relation", None))
    if not background_first:
        pieces.append((_background_sentence(spec.background, np.random.default_rng([spec.phrasing, 3])),
                       "background", None))

    sentences, at, parts = [], 0, []
    for text, kind, i in pieces:
        box = object_box(objects[i], spec.size) if i is not None else None
        place = objects[i].place if i is not None else None
        sentences.append(SceneSentence(text=text, start=at, end=at + len(text), kind=kind, box=box,
                                       place=place, obj=i))
        parts.append(text)
        at += len(text) + 1
    return " ".join(parts), sentences


# ------------------------------------------------------------------------------------------------
# Scenes
# ------------------------------------------------------------------------------------------------

def _centre(place: str, rng: np.random.Generator) -> tuple[float, float]:
    ax, ay = _ANCHOR[place]
    dx, dy = _TOWARD_CORNER[place]
    if place == "centre":
        return (ax + rng.uniform(-CENTRE_JITTER, CENTRE_JITTER), ay + rng.uniform(-CENTRE_JITTER, CENTRE_JITTER))
    return (ax + dx * rng.uniform(0, JITTER), ay + dy * rng.uniform(0, JITTER))


def random_spec(rng: np.random.Generator, size: int = 96) -> Spec:
    n = int(rng.integers(1, 6))
    places = [PLACES[k] for k in sorted(rng.choice(len(PLACES), size=n, replace=False))]
    used, objects = set(), []
    colour_names = list(COLOURS)
    for place in places:
        while True:
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
            colour = colour_names[int(rng.integers(len(colour_names)))]
            if (colour, shape) not in used:
                break
        used.add((colour, shape))
        cx, cy = _centre(place, rng)
        objects.append(Obj(shape=shape, colour=colour, size=SIZES[int(rng.integers(2))], place=place, cx=cx, cy=cy))
    objects = [objects[k] for k in rng.permutation(n)]  # the spec's order says nothing of places
    bg_names = list(BACKGROUNDS)
    background = Background(colour=bg_names[int(rng.integers(len(bg_names)))],
                            texture=TEXTURES[int(rng.integers(len(TEXTURES)))], phase=float(rng.random()))
    return Spec(objects=tuple(objects), background=background, phrasing=int(rng.integers(2**31)), size=size)


def scene_from_spec(spec: Spec, change: str | None = None) -> Scene:
    caption, sentences = describe(spec)
    return Scene(spec=spec, image=render(spec), caption=caption, sentences=sentences, change=change)


def make_scene(seed: int, index: int, size: int = 96) -> Scene:
    """Scene `index` of `seed` (independent of how many others are made)."""
    return scene_from_spec(random_spec(np.random.default_rng([seed, index]), size))


def generate(seed: int, n: int, size: int = 96, start: int = 0) -> list[Scene]:
    """Scenes start..start+n-1 of `seed`, each size x size pixels."""
    return [make_scene(seed, start + i, size) for i in range(n)]


def _change(spec: Spec, kind: str, rng: np.random.Generator) -> tuple[Spec, str] | None:
    objects = list(spec.objects)
    n = len(objects)
    used = {(o.colour, o.shape) for o in objects}
    i = int(rng.integers(n))
    obj = objects[i]
    if kind == "colour":
        options = [c for c in COLOURS if (c, obj.shape) not in used]
        if not options:
            return None
        colour = options[int(rng.integers(len(options)))]
        objects[i] = replace(obj, colour=colour)
        what = f"colour: {obj.name} -> {objects[i].name}"
    elif kind == "shape":
        options = [s for s in SHAPES if (obj.colour, s) not in used]
        if not options:
            return None
        objects[i] = replace(obj, shape=options[int(rng.integers(len(options)))])
        what = f"shape: {obj.name} -> {objects[i].name}"
    elif kind == "size":
        objects[i] = replace(obj, size="small" if obj.size == "large" else "large")
        what = f"size: {obj.name} {obj.size} -> {objects[i].size}"
    elif kind == "position":
        free = [p for p in PLACES if p not in {o.place for o in objects}]
        if free:
            place = free[int(rng.integers(len(free)))]
            cx, cy = _centre(place, rng)
            objects[i] = replace(obj, place=place, cx=cx, cy=cy)
            what = f"position: {obj.name} {obj.place} -> {place}"
        else:
            j = int(rng.integers(n - 1))
            j = j + 1 if j >= i else j
            other = objects[j]
            objects[i] = replace(obj, place=other.place, cx=other.cx, cy=other.cy)
            objects[j] = replace(other, place=obj.place, cx=obj.cx, cy=obj.cy)
            what = f"position: {obj.name} and {other.name} swap places"
    elif kind == "swap":
        if n < 2:
            return None
        j = int(rng.integers(n - 1))
        j = j + 1 if j >= i else j
        other = objects[j]
        if obj.colour == other.colour or (other.colour, obj.shape) in used or (obj.colour, other.shape) in used:
            return None
        objects[i] = replace(obj, colour=other.colour)
        objects[j] = replace(other, colour=obj.colour)
        what = f"swap: {obj.name} and {other.name} swap colours"
    else:
        raise ValueError(f"unknown hard-negative kind {kind!r}; expected one of {ALL_KINDS}")
    return replace(spec, objects=tuple(objects)), what


def hard_negatives(scene: Scene, n: int, seed: int = 0, kinds=KINDS) -> list[Scene]:
    """n versions of `scene` with one thing changed each: kinds are cycled in the given order
    (so n = len(kinds) gives one of each), the object and the new value drawn from
    rng([seed, phrasing]). Duplicates of the scene or of an earlier negative are skipped; a
    kind that cannot apply (e.g. swap with one object) is replaced by the next kind."""
    for kind in kinds:
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown hard-negative kind {kind!r}; expected one of {ALL_KINDS}")
    rng = np.random.default_rng([seed, scene.spec.phrasing, 7])
    out, seen = [], {scene.caption}
    k, attempts = 0, 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * max(n, 1):
            raise RuntimeError(f"could not make {n} distinct hard negatives of this scene with kinds {kinds}")
        kind = kinds[k % len(kinds)]
        k += 1
        changed = _change(scene.spec, kind, rng)
        if changed is None:
            continue
        spec, what = changed
        negative = scene_from_spec(spec, change=what)
        if negative.caption in seen:
            continue
        seen.add(negative.caption)
        out.append(negative)
    return out


def _main():
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description="Write example scenes and their hard negatives.")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--size", type=int, default=96)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, scene in enumerate(generate(args.seed, args.n, args.size)):
        scene.image.save(out / f"scene_{i:03d}.png")
        lines = [scene.caption, ""]
        lines += [f"[{s.kind}] {s.text}  box={tuple(round(v, 1) for v in s.box) if s.box else None}"
                  for s in scene.sentences]
        for j, neg in enumerate(scene.negatives(4)):
            neg.image.save(out / f"scene_{i:03d}_neg{j}.png")
            lines += ["", f"negative {j} ({neg.change}): {neg.caption}"]
        (out / f"scene_{i:03d}.txt").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.n} scenes to {out}")


if __name__ == "__main__":
    _main()
