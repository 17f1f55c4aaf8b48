"""Heatmaps against a reference written here from the rules goal.h states.

- the map: NumPy cosines between m.encode_text and m.image_tokens, spread over the original
  pixels by the documented rule (pixel centres through the resize, the crop window from the
  preprocessing: short side to image_size, long side truncated, crop offset floored for the
  Hugging Face convention, rounded half to even for OpenAI's; bilinear between patch centres,
  clamped at the window's edges); tolerance 1e-5;
- the PNG: decoded with Pillow; outside the window every pixel is the documented greyed blend
  of Pillow's own decode of the image; opacity 0 gives Pillow's decode exactly.
"""

import ctypes
import math

import numpy as np
import pytest
from PIL import Image

import goal
from goal import _capi
from conftest import FIXTURES

FOLDERS = FIXTURES / "folders"
IMAGES = FIXTURES / "images"
TEXT = "an astronaut in an orange suit. a white helmet."
# Wide, tall, tall with an odd leftover after the resize (47 - 32: the conventions crop one
# pixel apart), and a gray PNG.
NAMES = ["astronaut_wide.jpg", "coffee_tall_444.jpg", "rocket_progressive.jpg", "camera_gray.png"]
JPEGS = ["astronaut_wide.jpg", "coffee_tall_444.jpg", "rocket_progressive.jpg"]


@pytest.fixture(scope="module", params=["hf_ts", "openclip_immich"])
def model(request):
    with goal.Model(FOLDERS / request.param) as m:
        yield m


def axis(n, resized, crop, patch, convention):
    """Per pixel along one axis of n pixels resized to `resized`: inside the window?, and the two
    cells and the weight to mix them with."""
    leftover = resized - crop
    offset = leftover // 2 if convention == "huggingface" else int(round(leftover / 2.0))
    x = np.arange(n)
    # 0 <= (x + 0.5) * resized / n - offset < crop, in integers.
    inside = ((2 * x + 1) * resized >= 2 * offset * n) & ((2 * x + 1) * resized < 2 * (offset + crop) * n)
    u = (x + 0.5) * resized / n - offset
    cells = crop // patch
    q = np.clip(u / patch - 0.5, 0, cells - 1)
    i0 = np.floor(q).astype(int)
    i1 = np.minimum(i0 + 1, cells - 1)
    return inside, i0, i1, q - i0


def reference(m, path, text):
    width, height = Image.open(path).size
    size, patch = m.info.image_size, m.info.patch_size
    if width <= height:
        rw, rh = size, int(size * height / width)
    else:
        rw, rh = int(size * width / height), size
    inside_x, c0, c1, tx = axis(width, rw, size, patch, m.info.convention)
    inside_y, r0, r1, ty = axis(height, rh, size, patch, m.info.convention)
    t = m.encode_text(text)[0].astype(np.float64)
    tokens = m.image_tokens(path)
    grid = (tokens.embeddings.astype(np.float64) @ t).reshape(tokens.grid)
    tx, ty = tx[None, :], ty[:, None]
    upper = (1 - tx) * grid[r0][:, c0] + tx * grid[r0][:, c1]
    lower = (1 - tx) * grid[r1][:, c0] + tx * grid[r1][:, c1]
    values = (1 - ty) * upper + ty * lower
    inside = inside_y[:, None] & inside_x[None, :]
    return np.where(inside, values, np.nan), inside


def pillow_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def greyed(rgb, opacity):
    """The documented rendering outside the window: each channel blended with the pixel's grey,
    rounded half away from zero."""
    p = rgb.astype(np.int64)
    grey = (299 * p[..., 0] + 587 * p[..., 1] + 114 * p[..., 2] + 500) // 1000
    v = (1 - opacity) * p.astype(np.float64) + opacity * grey[..., None].astype(np.float64)
    r = np.floor(v)
    return (r + (v - r >= 0.5)).astype(np.uint8)


@pytest.mark.parametrize("name", NAMES)
def test_map_equals_the_reference(model, name):
    path = IMAGES / name
    got = model.heatmap(path, TEXT)
    want, inside = reference(model, path, TEXT)
    width, height = Image.open(path).size
    assert got.shape == (height, width) and got.dtype == np.float32
    assert np.array_equal(np.isnan(got), ~inside), "NaN exactly outside the crop window"
    assert inside.any() and not inside.all()
    np.testing.assert_allclose(got[inside], want[inside], rtol=0, atol=1e-5)


def test_conventions_crop_one_pixel_row_apart():
    """rocket_progressive.jpg resizes to 32 x 47: the leftover 15 halves to 7 (HF) or 8 (OpenAI)."""
    path = IMAGES / "rocket_progressive.jpg"
    rows = {}
    for convention in ("huggingface", "openai"):
        with goal.Model(FOLDERS / "hf_ts", convention=convention) as m:
            finite = np.where(~np.isnan(m.heatmap(path, TEXT)).all(axis=1))[0]
            rows[convention] = (finite[0], finite[-1])
    assert rows["huggingface"] != rows["openai"]


def test_every_input_kind_gives_the_same_map(model):
    path = IMAGES / "astronaut_wide.jpg"
    from_path = model.heatmap(path, TEXT)
    np.testing.assert_array_equal(model.heatmap(path.read_bytes(), TEXT), from_path)
    np.testing.assert_array_equal(model.heatmap(pillow_rgb(path), TEXT), from_path)
    np.testing.assert_array_equal(model.heatmap(str(path), TEXT.encode()), from_path)


@pytest.mark.parametrize("name", JPEGS)
def test_png_has_the_image_size_and_greys_the_margin(model, name, tmp_path):
    path, out = IMAGES / name, tmp_path / "map.png"
    values = model.heatmap(path, TEXT, path=out)
    png = Image.open(out)
    png.load()
    assert png.format == "PNG" and png.mode == "RGB" and png.size == Image.open(path).size
    pixels = np.asarray(png)
    original = pillow_rgb(path)
    outside = np.isnan(values)
    np.testing.assert_array_equal(pixels[outside], greyed(original, 0.5)[outside])
    # Inside, the colours rise in brightness with the value: at full opacity the pixel of the
    # highest value is brighter than that of the lowest.
    model.heatmap(path, TEXT, path=out, opacity=1.0)
    full = np.asarray(Image.open(out)).astype(np.float64)
    luma = full @ [0.2126, 0.7152, 0.0722]
    hi = np.unravel_index(np.nanargmax(values), values.shape)
    lo = np.unravel_index(np.nanargmin(values), values.shape)
    assert luma[hi] > luma[lo] + 50
    np.testing.assert_array_equal(full[outside].astype(np.uint8), greyed(original, 1.0)[outside])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png"], "no temporary file is left"


@pytest.mark.parametrize("name", JPEGS)
def test_opacity_zero_is_the_image(model, name, tmp_path):
    out = tmp_path / "plain.png"
    model.heatmap(IMAGES / name, TEXT, path=out, opacity=0)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), pillow_rgb(IMAGES / name))


def test_png_replaces_an_existing_file(model, tmp_path):
    out = tmp_path / "map.png"
    out.write_bytes(b"old")
    model.heatmap(IMAGES / "coffee_tall_444.jpg", TEXT, path=out)
    assert Image.open(out).size == (200, 300)
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]


def test_missing_folder_is_an_io_error_naming_the_path(model, tmp_path):
    out = tmp_path / "absent" / "map.png"
    with pytest.raises(goal.ReadError) as info:
        model.heatmap(IMAGES / "astronaut_wide.jpg", TEXT, path=out)
    assert str(out) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_as_target_is_an_io_error(model, tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(goal.ReadError) as info:
        model.heatmap(IMAGES / "astronaut_wide.jpg", TEXT, path=tmp_path / "taken")
    assert "taken" in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["taken"] and not any((tmp_path / "taken").iterdir())


@pytest.mark.parametrize("opacity", [-0.1, 1.5, math.nan, math.inf])
def test_opacity_out_of_range_is_refused(model, opacity, tmp_path):
    with pytest.raises(goal.InvalidArgumentError, match="opacity"):
        model.heatmap(IMAGES / "astronaut_wide.jpg", TEXT, path=tmp_path / "x.png", opacity=opacity)
    assert list(tmp_path.iterdir()) == []


def test_bad_inputs_are_statuses(model, tmp_path):
    with pytest.raises(goal.InvalidArgumentError, match="UTF-8"):
        model.heatmap(IMAGES / "astronaut_wide.jpg", b"\xff\xfe broken")
    with pytest.raises(goal.ModelNotFoundError):
        model.heatmap(IMAGES / "absent.jpg", TEXT)
    with pytest.raises(goal.UnsupportedError):
        model.heatmap(IMAGES / "not_an_image.txt", TEXT)


def test_the_c_calls_directly(model, tmp_path):
    image = ctypes.c_void_p()
    _capi.goal_image_from_file(bytes(IMAGES / "astronaut_wide.jpg"), ctypes.byref(image))
    try:
        m = model._live()
        width, height = ctypes.c_int32(7), ctypes.c_int32(7)
        text = TEXT.encode()
        # The size alone: BUFFER_TOO_SMALL with the size set.
        with pytest.raises(goal.BufferTooSmallError, match="384x256"):
            _capi.goal_model_heatmap(m, image, text, len(text), None, 0, ctypes.byref(width), ctypes.byref(height))
        assert (width.value, height.value) == (384, 256)
        short = (ctypes.c_float * 10)()
        with pytest.raises(goal.BufferTooSmallError):
            _capi.goal_model_heatmap(m, image, text, len(text), short, 10, ctypes.byref(width), ctypes.byref(height))
        assert (width.value, height.value) == (384, 256)
        with pytest.raises(goal.InvalidArgumentError, match="out_map"):
            _capi.goal_model_heatmap(m, image, text, len(text), None, 384 * 256, None, None)
        with pytest.raises(goal.InvalidArgumentError, match="model"):
            _capi.goal_model_heatmap(None, image, text, len(text), None, 0, ctypes.byref(width), ctypes.byref(height))
        assert (width.value, height.value) == (0, 0), "cleared on failure"
        with pytest.raises(goal.InvalidArgumentError, match="image"):
            _capi.goal_model_heatmap(m, None, text, len(text), None, 0, None, None)
        with pytest.raises(goal.InvalidArgumentError, match="text"):
            _capi.goal_model_heatmap(m, image, None, 5, None, 0, None, None)
        # NUL-terminated text works as elsewhere.
        out = np.empty((256, 384), dtype=np.float32)
        _capi.goal_model_heatmap(m, image, text, _capi.GOAL_NUL_TERMINATED,
                                 out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size, None, None)
        np.testing.assert_array_equal(out, model.heatmap(IMAGES / "astronaut_wide.jpg", TEXT))
        target = bytes(tmp_path / "c.png")
        for args, pattern in [((None, image, text, len(text), 0.5, target), "model"),
                              ((m, None, text, len(text), 0.5, target), "image"),
                              ((m, image, text, len(text), 0.5, None), "path"),
                              ((m, image, text, len(text), 0.5, b""), "path"),
                              ((m, image, text, len(text), 0.5, b"\xff.png"), "UTF-8"),
                              ((m, image, b"\xc3", 1, 0.5, target), "UTF-8")]:
            with pytest.raises(goal.InvalidArgumentError, match=pattern):
                _capi.goal_model_heatmap_png(*args, None, 0)
        # A map buffer too small is refused before anything is written.
        with pytest.raises(goal.BufferTooSmallError, match="floats"):
            _capi.goal_model_heatmap_png(m, image, text, len(text), 0.25, target,
                                         out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 10)
        assert list(tmp_path.iterdir()) == []
        _capi.goal_model_heatmap_png(m, image, text, len(text), 0.25, target, None, 0)
        assert Image.open(target).size == (384, 256)
        # With a buffer, the same call also gives the map.
        both = np.full((256, 384), 7, dtype=np.float32)
        _capi.goal_model_heatmap_png(m, image, text, len(text), 0.25, target,
                                     both.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), both.size)
        np.testing.assert_array_equal(both, out)
    finally:
        _capi.goal_image_free(image)
