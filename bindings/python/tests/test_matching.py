"""Local matching against independent references.

- pooled regions: the head (LayerNorm + projection, weights from the PyTorch module, stored in
  reference.npz) applied in NumPy to the mean of PyTorch's patch states inside the patch range
  this file computes from the preprocessing rules (resize the short side, truncate the long one,
  centre crop rounded per convention); tolerance 1e-4 on normalised embeddings.
- crop mode: 100 x cosine of crops cut with Pillow and encoded as whole images, and of the
  sentences encoded as texts; tolerance 1e-3 (the issue's).
- span-pooled sentences: the text head applied in NumPy to the mean of PyTorch's text states
  over the sentence's tokens; 1e-4.
"""

import math

import numpy as np
import pytest
from PIL import Image

import goal
from conftest import FIXTURES

FOLDERS = FIXTURES / "folders"
IMAGES = FIXTURES / "images"
NAMES = ["hf_ts", "hf_248_dynamo", "openclip_immich", "hf_combined"]


def normalised(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def head(ref, tower, states):
    """The tower's head from the PyTorch module's weights: LayerNorm, then projection."""
    x = np.asarray(states, dtype=np.float64)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    eps = float(ref[f"{tower}.head.ln_eps"])
    y = (x - mean) / np.sqrt(var + eps) * ref[f"{tower}.head.ln_weight"] + ref[f"{tower}.head.ln_bias"]
    return y @ ref[f"{tower}.head.projection"].astype(np.float64)


def patch_range(box, width, height, size, patch, convention):
    """Rows and columns of the grid a box covers, by the preprocessing rules written out here."""
    if width <= height:
        rw, rh = size, int(size * height / width)
    else:
        rw, rh = int(size * width / height), size
    if convention == "huggingface":
        ox, oy = (rw - size) // 2, (rh - size) // 2
    else:
        ox, oy = int(round((rw - size) / 2.0)), int(round((rh - size) / 2.0))
    x0, y0, x1, y1 = box
    sx, sy = rw / width, rh / height
    x0, x1 = max(0.0, x0 * sx - ox), min(float(size), x1 * sx - ox)
    y0, y1 = max(0.0, y0 * sy - oy), min(float(size), y1 * sy - oy)
    if x0 >= x1 or y0 >= y1:
        return None
    grid = size // patch
    c0, c1 = math.floor(x0 / patch), min(grid, math.ceil(x1 / patch))
    r0, r1 = math.floor(y0 / patch), min(grid, math.ceil(y1 / patch))
    return (range(r0, r1), range(c0, c1)) if c0 < c1 and r0 < r1 else None


def boxes_for(width, height):
    """Boxes on the image: corners, borders, thin strips, one reaching into the cropped-away
    margin, the whole image."""
    w, h = width, height
    return [(0, 0, w, h), (0, 0, w / 3, h / 3), (w * 0.6, h * 0.55, w, h), (0, h * 0.45, w, h * 0.55),
            (w * 0.49, 0, w * 0.51, h), (1.5, 2.25, 17.75, 9.5), (w - 1, h - 1, w, h), (-20, -20, w / 2, h * 0.8)]


@pytest.fixture(scope="module", params=NAMES)
def folder(request):
    with goal.Model(FOLDERS / request.param) as model:
        yield request.param, model, np.load(FOLDERS / request.param / "reference.npz")


def test_pooled_regions_equal_the_head_on_pytorch_states(folder):
    _, model, ref = folder
    size, patch = model.info.image_size, model.info.patch_size
    grid = size // patch
    for j, name in enumerate(ref["image_files"]):
        path = IMAGES / str(name)
        width, height = Image.open(path).size
        states = ref["vision.states"][j, 1:].reshape(grid, grid, -1)
        boxes, expected = [], []
        for box in boxes_for(width, height):
            cover = patch_range(box, width, height, size, patch, model.info.convention)
            if cover is None:
                continue
            rows, columns = cover
            boxes.append(box)
            expected.append(head(ref, "vision", states[rows.start:rows.stop, columns.start:columns.stop].reshape(-1, states.shape[-1]).mean(0)))
        got = model.region_embeddings(path, boxes, mode="pooled")
        assert np.abs(got - normalised(np.array(expected))).max() <= 1e-4, name


def test_a_box_with_no_patch_is_named(folder):
    _, model, _ = folder
    path = IMAGES / "astronaut_wide.jpg"   # 384 x 256: the crop cuts away 64 px each side
    with pytest.raises(goal.InvalidArgumentError, match="box 1"):
        model.region_embeddings(path, [(100, 0, 150, 50), (0, 0, 40, 256)], mode="pooled")
    for bad in [(5, 5, 5, 9), (math.nan, 0, 3, 3), (0, 0, math.inf, 3), (400, 0, 500, 10)]:
        with pytest.raises(goal.InvalidArgumentError, match="box 0"):
            model.region_embeddings(path, [bad], mode="pooled")
    with pytest.raises(goal.InvalidArgumentError, match="box 0"):
        model.region_embeddings(path, [(400, 0, 500, 10)], mode="crop")


def test_crop_mode_scores_equal_encoded_crops(folder):
    _, model, _ = folder
    path = IMAGES / "coffee_tall_444.jpg"
    caption = "A cup of coffee on a saucer. The table is wooden. Steam rises from the cup."
    result = model.lism(path, caption, mode="crop", grid=2, boxes=[(10.4, 20.6, 100.2, 150.9)])
    image = np.asarray(Image.open(path).convert("RGB"))
    crops = []
    for region in result.regions:
        x0, y0, x1, y1 = region.box
        crops.append(np.ascontiguousarray(image[math.floor(y0):math.ceil(y1), math.floor(x0):math.ceil(x1)]))
    regions = model.encode_image(crops)
    sentences = model.encode_text([s.text for s in result.sentences])
    assert np.abs(result.scores - 100 * sentences @ regions.T).max() <= 1e-3
    assert result.regions[0].source == "whole_image"
    assert [r.source for r in result.regions[1:6]] == ["quadrant"] * 4 + ["centre"]


def test_span_pooled_sentences_equal_the_head_on_pytorch_states(folder):
    _, model, ref = folder
    caption = str(ref["captions"][3])        # the long caption: several sentences
    sentences = model.sentences(caption)
    assert len(sentences) >= 2
    image = IMAGES / str(ref["image_files"][0])
    result = model.lism(image, caption, sentence_mode="span_pooled")
    regions = model.region_embeddings(image, [r.box for r in result.regions], mode="pooled")
    context = model.info.context_length
    for i, s in enumerate(result.sentences):
        a, b = s.tokens
        if b > context - 1:
            expected = model.encode_text([s.text])[0]   # beyond the context: standalone
        else:
            expected = normalised(head(ref, "text", ref["text.states"][3, a:b].mean(0)))
        np.testing.assert_allclose(result.scores[i], 100 * regions @ expected, atol=1e-2)


def test_sentences_and_their_tokens(folder):
    _, model, _ = folder
    caption = "Dr. Smith's cat sat 3.5 m away... then it left! Did it return? \"Yes.\" The end"
    found = model.sentences(caption)
    assert [s.text for s in found] == ["Dr. Smith's cat sat 3.5 m away... then it left!", "Did it return?",
                                       "\"Yes.\"", "The end"]
    tokens = model.text_tokens(caption)
    for s in found:
        a, b = s.tokens
        # The sentence's tokens are the ones whose text starts inside it.
        assert all(s.start <= tokens.spans[k][0] < s.end for k in range(a, b))
        assert a == 1 or tokens.spans[a - 1][0] < s.start
    naive = model.sentences("One. Two.. Three 3.5", naive=True)
    assert [s.text for s in naive] == ["One", "Two", "Three 3", "5"]
    assert model.sentences("   ") == []


def test_matching_rules(folder):
    _, model, _ = folder
    path = IMAGES / "chelsea_422.jpg"
    caption = "A cat sits. Its fur is striped. Its eyes are open. A wall is behind it. The floor is grey."
    plain = model.lism(path, caption, grid=[2, 3])
    s, r = plain.scores.shape
    assert (s, r) == (5, 1 + 5 + 4 + 9)
    assert [m.region_index for m in plain.matches] == list(plain.scores.argmax(1))
    flat = plain.scores.argmax()
    assert (plain.best.sentence_index, plain.best.region_index) == divmod(int(flat), r)
    # One to one: distinct regions, and no better total exists (checked against every choice
    # of regions for these 5 sentences among the first 7 regions).
    few = model.lism(path, caption, spatial_division=False, grid=[2], boxes=[(0, 0, 50, 50), (30, 30, 90, 90)],
                     one_to_one=True)
    chosen = [m.region_index for m in few.matches]
    assert len(set(chosen)) == len(chosen) == 5
    import itertools
    best_total = max(sum(few.scores[i, p[i]] for i in range(5)) for p in itertools.permutations(range(7), 5))
    assert sum(few.scores[i, c] for i, c in enumerate(chosen)) >= best_total - 1e-3
    # A minimum score drops matches below it; the best pair may leave the whole image out.
    threshold = float(np.median(plain.scores.max(1)))
    kept = model.lism(path, caption, grid=[2, 3], min_score=threshold)
    assert [m.sentence_index for m in kept.matches] == [i for i in range(s) if plain.scores[i].max() >= threshold]
    local = model.lism(path, caption, grid=[2, 3], best_excludes_whole_image=True)
    assert local.best.region_index != 0
    assert local.best.score == pytest.approx(plain.scores[:, 1:].max(), abs=1e-4)


def test_masks_become_tight_boxes(folder):
    _, model, _ = folder
    path = IMAGES / "chelsea_422.jpg"
    width, height = Image.open(path).size
    inside = np.zeros((height, width), dtype=bool)
    inside[20:60, 30:90] = True                    # 2400 px: inside 1 %-80 %
    tiny = np.zeros((height, width), dtype=np.uint8)
    tiny[5, 5] = 1                                 # one pixel: below 1 %
    full = np.ones((height, width), dtype=np.uint8)  # 100 %: above 80 %
    result = model.lism(path, "A cat. A wall.", masks=[tiny, inside, full], spatial_division=False)
    assert [(r.source, r.index, r.box) for r in result.regions] == [
        ("whole_image", 0, (0.0, 0.0, float(width), float(height))), ("mask", 1, (30.0, 20.0, 90.0, 60.0))]
    with pytest.raises(goal.InvalidArgumentError, match="mask 0"):
        model.lism(path, "A cat.", masks=[np.ones((5, 5))])


def test_late_interaction_is_filip(folder):
    _, model, _ = folder
    text, path = "a red circle on a wooden table", IMAGES / "astronaut_wide.jpg"
    tokens = model.text_tokens(text).embeddings[1:-1].astype(np.float64)
    patches = model.image_tokens(path).embeddings.astype(np.float64)
    similarity = tokens @ patches.T
    t2i, i2t = model.late_interaction(text, path)
    assert t2i == pytest.approx(similarity.max(1).mean(), abs=1e-5)
    assert i2t == pytest.approx(similarity.max(0).mean(), abs=1e-5)
    assert model.local_similarity(text, path) == pytest.approx((t2i + i2t) / 2, abs=1e-6)
    with pytest.raises(goal.InvalidArgumentError, match="no tokens"):
        model.late_interaction("", path)


def test_lism_refuses_bad_input():
    with goal.Model(FOLDERS / "hf_ts") as model:
        path = IMAGES / "chelsea_422.jpg"
        with pytest.raises(goal.InvalidArgumentError, match="no sentences"):
            model.lism(path, "  ")
        with pytest.raises(goal.InvalidArgumentError, match="box 0"):
            model.lism(path, "A cat.", boxes=[(math.nan, 0, 1, 1)])
        with pytest.raises(goal.InvalidArgumentError, match="grid"):
            model.lism(path, "A cat.", grid=40)
        with pytest.raises(goal.ModelNotFoundError):
            model.lism(IMAGES / "absent.jpg", "A cat.")
        with pytest.raises(goal.GoalError, match="image 0"):
            model.lism(IMAGES / "truncated.jpg", "A cat.")
