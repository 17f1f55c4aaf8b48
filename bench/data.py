"""What the benchmark feeds the models: photos, their PIL preprocessing, captions cut to exact
token counts, and the tokenizer corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
FIXTURE_IMAGES = ["astronaut_wide.jpg", "chelsea_422.jpg", "coffee_tall_444.jpg", "rocket_progressive.jpg",
                  "camera_gray_odd.jpg", "chelsea_rgb_tall.png"]
# Photo sizes people feed CLIP (COCO's 640 px, a few megapixel camera and phone frames). The
# committed fixtures are small, so these are upscaled from them once, into the cache.
PHOTO_SIZES = [(640, 480), (640, 427), (500, 750), (1024, 683), (1280, 960), (1920, 1280)]

# A long, detailed caption (DOCCI / DCI style), the source of every text the benchmark encodes.
CAPTION = (
    "A tabby cat sits on a wooden floor next to a tall window. Its fur is striped brown and black, with a white "
    "patch on its chest and white paws. Its green eyes look straight at the camera, and its ears stand up. "
    "Behind it a white wall holds a small framed painting of a sailing boat on a blue sea. Light falls from the "
    "left through thin curtains and makes long shadows on the boards. A red ball of wool lies near its tail, and "
    "a green plant in a clay pot stands in the right corner of the room. On the window sill there are three "
    "small stones, a glass of water and an open book with a yellow cover. The floor is old and scratched, with "
    "a darker stain near the door, which is half open and shows a hallway with a striped rug. Outside the window "
    "the sky is grey and a bare tree moves in the wind."
)
SENTENCES5 = ("A tabby cat sits on a wooden floor. Its fur is striped brown and black. Its green eyes look at the "
              "camera. A white wall stands behind it. Light falls from the left.")


def photos(cache: Path | None) -> list[Path]:
    """JPEG photos at PHOTO_SIZES made from the fixtures (cached), or the fixtures themselves
    when `cache` is None (the smoke run)."""
    sources = [REPO / "fixtures" / "images" / name for name in FIXTURE_IMAGES]
    if cache is None:
        return sources
    folder = cache / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (w, h), source in zip(PHOTO_SIZES, sources):
        path = folder / f"{source.stem}_{w}x{h}.jpg"
        if not path.exists():
            image = Image.open(source).convert("RGB").resize((w, h), Image.BICUBIC)
            image.save(path, quality=90)
        paths.append(path)
    return paths


def pil_preprocess(path, size: int, mean, std) -> np.ndarray:
    """[3, size, size] float32 as HF's CLIPImageProcessor makes it with PIL: RGB (transparency
    over white), shortest edge to `size` with PIL bicubic, centre crop (offsets rounded down),
    /255, normalise."""
    image = Image.open(path)
    if image.mode != "RGB":
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba).convert("RGB")
    w, h = image.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    image = image.resize((nw, nh), Image.BICUBIC)
    top, left = (nh - size) // 2, (nw - size) // 2
    array = np.asarray(image, dtype=np.float32)[top:top + size, left:left + size] * np.float32(1 / 255)
    array = (array - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def pixel_batch(paths, batch: int, size: int, mean, std) -> np.ndarray:
    """[batch, 3, size, size], cycling through the photos."""
    return np.stack([pil_preprocess(paths[i % len(paths)], size, mean, std) for i in range(batch)])


def caption_of(count, tokens: int) -> str:
    """A prefix of CAPTION (repeated as needed) that encodes to exactly `tokens` ids, start and
    end included, `count(text)` being a tokenizer's number of ids; cut at word boundaries, so
    the BPE of the prefix is the BPE of the words."""
    text = CAPTION
    while count(text) < tokens:
        text += " " + CAPTION
    words = text.split(" ")
    low, high = 1, len(words)
    while low < high:  # the fewest words that reach `tokens` ids
        mid = (low + high) // 2
        if count(" ".join(words[:mid])) >= tokens:
            high = mid
        else:
            low = mid + 1
    candidate = " ".join(words[:low])
    if count(candidate) > tokens:  # the last word is several tokens: cut inside it
        for end in range(len(candidate), 0, -1):
            if count(candidate[:end]) == tokens:
                return candidate[:end]
    return candidate


def text_feeds(ids: list[int], width: int, pad: int, names: dict[str, str]) -> dict[str, np.ndarray]:
    """One sequence padded to `width`, under the tower's input names ('ids', 'mask')."""
    row = np.full((1, width), pad, np.int64)
    row[0, :len(ids)] = ids
    feeds = {names["ids"]: row}
    if names.get("mask"):
        mask = np.zeros((1, width), np.int64)
        mask[0, :len(ids)] = 1
        feeds[names["mask"]] = mask
    return feeds


def corpus(limit: int | None = None) -> list[str]:
    lines = (REPO / "fixtures" / "tokenizer" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line) for line in lines if line.strip()]
    return texts[:limit] if limit else texts
