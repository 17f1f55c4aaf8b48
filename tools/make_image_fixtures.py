#!/usr/bin/env python3
"""Writes fixtures/images/: small test images and the PIL / torchvision / Hugging Face reference
outputs the Swift image tests compare against. Run by hand from the repository root:

    python3 tools/make_image_fixtures.py

Needs Pillow, numpy, torch, torchvision, transformers and scikit-image (whose skimage.data
photos are the source of the real pictures). References are gzip-compressed raw little-endian
arrays (`.gz`); manifest.json describes every file.
"""
import gzip
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
import skimage
import skimage.data
import torch
import torchvision
import transformers
from PIL import Image
from torchvision import transforms as T
from transformers import CLIPImageProcessor
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "images"
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
S = 224
# Images whose tensors are stored whole (the rest are checked by crc32 only, to keep the
# fixtures small): odd crop leftovers where the conventions differ, upscaling and downscaling.
TENSOR_FILES = {"rocket_progressive.jpg", "camera_gray_odd.jpg", "chelsea_cmyk.jpg", "astronaut_wide.jpg"}


# --- a small PNG writer, for what Pillow cannot write (16-bit RGB, 16-bit gray+alpha, 2-bit
# gray, Adam7). Rows cycle through all five filter types so the decoder meets each one.

def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _filter_rows(rows, bpp):
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for r, row in enumerate(rows):
        kind = r % 5
        cur = bytearray(len(row))
        for i in range(len(row)):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) >> 1
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (row[i] - pred) & 0xFF
        out.append(kind)
        out += cur
        prev = row
    return bytes(out)


def _pack_rows(samples, depth):
    """samples: (h, w, channels) integer array -> list of packed row bytes."""
    h, w, ch = samples.shape
    rows = []
    for y in range(h):
        flat = samples[y].reshape(-1)
        if depth == 16:
            rows.append(flat.astype(">u2").tobytes())
        elif depth == 8:
            rows.append(flat.astype(np.uint8).tobytes())
        else:
            bits = "".join(format(int(v), f"0{depth}b") for v in flat)
            bits += "0" * (-len(bits) % 8)
            rows.append(bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))
    return rows


def write_png(samples, depth, color_type, interlace=False):
    h, w, ch = samples.shape
    bpp = max(1, ch * depth // 8)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += _filter_rows(_pack_rows(sub, depth), bpp)
    else:
        raw = _filter_rows(_pack_rows(samples, depth), bpp)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def resized(arr, w, h):
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.BICUBIC))


def encode(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def make_images():
    astro = skimage.data.astronaut()
    coffee = skimage.data.coffee()
    cat = skimage.data.chelsea()
    camera = skimage.data.camera()
    rocket = skimage.data.rocket()

    images = {}
    # JPEG
    images["astronaut_wide.jpg"] = encode(Image.fromarray(resized(astro, 384, 256)), "JPEG", quality=88)
    images["coffee_tall_444.jpg"] = encode(Image.fromarray(resized(coffee, 300, 200).transpose(1, 0, 2).copy()), "JPEG",
                                           quality=92, subsampling=0)
    images["rocket_progressive.jpg"] = encode(Image.fromarray(resized(rocket, 241, 361)), "JPEG", quality=85,
                                              progressive=True)
    images["camera_gray_odd.jpg"] = encode(Image.fromarray(resized(camera, 199, 143)), "JPEG", quality=90)
    images["chelsea_cmyk.jpg"] = encode(Image.fromarray(resized(cat, 181, 120)).convert("CMYK"), "JPEG", quality=90)
    images["chelsea_422.jpg"] = encode(Image.fromarray(resized(cat, 301, 226)), "JPEG", quality=80, subsampling=1)
    # PNG through Pillow
    images["chelsea_rgb_tall.png"] = encode(Image.fromarray(resized(cat, 151, 227)), "PNG")
    rgba = np.dstack([resized(astro, 160, 120), np.tile(np.linspace(0, 255, 160).astype(np.uint8), (120, 1))])
    rgba[:20, :20, 3] = 0
    images["astronaut_rgba.png"] = encode(Image.fromarray(rgba), "PNG")
    images["camera_gray.png"] = encode(Image.fromarray(resized(camera, 130, 97)), "PNG")
    g16 = resized(camera, 90, 70).astype(np.uint16) * 257
    g16[:, :30] //= 300          # a band of values 0...218, which I;16 -> RGB keeps as they are
    images["camera_gray16.png"] = write_png(g16.reshape(70, 90, 1), 16, 0)
    images["coffee_palette.png"] = encode(Image.fromarray(resized(coffee, 140, 100)).quantize(200), "PNG")
    pal = Image.fromarray(resized(cat, 97, 131)).quantize(16)
    images["chelsea_palette4_trns.png"] = encode(pal, "PNG", transparency=bytes([0, 40, 255] + [255] * 13), bits=4)
    # PNG through the writer above
    rgb16 = ((resized(astro, 120, 80).astype(np.uint32) * 257 + np.arange(120)[None, :, None]) % 65536).astype(np.uint16)
    images["astronaut_rgb16.png"] = write_png(rgb16, 16, 2)
    la = np.dstack([resized(camera, 75, 53).astype(np.uint16) * 257 + 3, np.full((53, 75), 40000, np.uint16)])
    images["camera_la16_interlaced.png"] = write_png(la, 16, 4, interlace=True)
    g2 = (resized(camera, 61, 45) >> 6).reshape(45, 61, 1)
    images["camera_gray2_interlaced.png"] = write_png(g2, 2, 0, interlace=True)
    return images


def bad_files(images):
    jpg = images["astronaut_wide.jpg"]
    png = images["chelsea_rgb_tall.png"]
    bad = {
        "truncated.jpg": jpg[: len(jpg) * 6 // 10],
        "truncated_header.jpg": jpg[:120],
        "truncated.png": png[: len(png) * 6 // 10],
        "not_an_image.txt": b"This is a text file, not an image.\n",
    }
    # A JPEG whose frame header claims 13-bit samples: libjpeg stops with a fatal error.
    sof = jpg.index(b"\xff\xc0")
    bad["corrupt_precision.jpg"] = jpg[: sof + 4] + b"\x0d" + jpg[sof + 5:]
    # A PNG with a damaged IHDR checksum.
    bad["bad_crc.png"] = png[:29] + bytes([png[29] ^ 0xFF]) + png[30:]
    return bad


def f32gz(path, arr):
    path.write_bytes(gzip.compress(np.ascontiguousarray(arr, dtype="<f4").tobytes(), 9, mtime=0))


def u8gz(path, arr):
    path.write_bytes(gzip.compress(np.ascontiguousarray(arr, dtype=np.uint8).tobytes(), 9, mtime=0))


def resize_targets(w, h):
    targets = [
        (max(1, w // 3 + 1), max(1, h // 2)),       # both down
        (w * 5 // 4 + 1, h * 4 // 3),               # both up
        (max(1, w * 2 // 3), h),                    # horizontal only
        (w, h * 3 // 2 + 1),                        # vertical only
        (max(1, w // 7), h * 2),                    # down one way, up the other
    ]
    short_to_224 = (S, int(S * h / w)) if w <= h else (int(S * w / h), S)
    return [short_to_224] + targets


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    images = make_images()
    openai = T.Compose([T.Resize(S, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(S), T.ToTensor(),
                        T.Normalize(MEAN, STD)])
    hf_torchvision = CLIPImageProcessor()   # transformers 5: the torchvision backend
    hf_pil = CLIPImageProcessorPil()
    manifest = {
        "generator": "tools/make_image_fixtures.py",
        "versions": {"Pillow": PIL.__version__, "numpy": np.__version__, "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "transformers": transformers.__version__,
                     "scikit-image": skimage.__version__},
        "mean": MEAN, "std": STD, "size": S,
        "layout": ("rgb: gzip of uint8 HWC RGB; resize: crc32 of the uint8 HWC RGB bytes; tensors: crc32 of the "
                   "float32 little-endian CHW (3, 224, 224) bytes, and for some images `u8`, a gzip of the "
                   "same tensor un-normalised (t * std + mean) * 255, which is a whole number within 1e-4 "
                   "for every pipeline here, stored as uint8 CHW"),
        "images": [],
        "bad": [],
    }
    for name, data in images.items():
        (OUT / name).write_bytes(data)
        im = Image.open(OUT / name)
        mode = im.mode
        rgb_im = im.convert("RGB")
        rgb = np.asarray(rgb_im)
        h, w = rgb.shape[:2]
        stem = name.rsplit(".", 1)[0]
        entry = {"file": name, "pil_mode": mode, "width": w, "height": h, "rgb": f"{stem}.rgb.gz", "resize": []}
        u8gz(OUT / entry["rgb"], rgb)
        for tw, th in resize_targets(w, h):
            out = np.asarray(rgb_im.resize((tw, th), Image.BICUBIC))
            entry["resize"].append({"width": tw, "height": th, "crc32": zlib.crc32(out.tobytes())})
        # Every pipeline gets the PIL-decoded RGB image, so decoding differences (Hugging Face
        # composites alpha over white) stay out of the preprocessing comparison.
        t_openai = openai(rgb_im).numpy()
        t_hf = hf_torchvision(rgb_im, return_tensors="pt")["pixel_values"][0].numpy()
        t_hfpil = hf_pil(rgb_im, return_tensors="np")["pixel_values"][0]
        for key, arr in (("openai", t_openai), ("hf_torchvision", t_hf), ("hf_pil", t_hfpil)):
            assert arr.shape == (3, S, S), (key, arr.shape)
            arr = np.ascontiguousarray(arr, dtype="<f4")
            levels = (arr * np.array(STD, np.float32)[:, None, None] + np.array(MEAN, np.float32)[:, None, None]) * 255
            u8 = np.round(levels)
            assert np.abs(levels - u8).max() < 1e-4 and u8.min() >= 0 and u8.max() <= 255, key
            ref = {"crc32": zlib.crc32(arr.tobytes())}
            if name in TENSOR_FILES:
                ref["u8"] = f"{stem}.{key}.u8.gz"
                u8gz(OUT / ref["u8"], u8)
            entry[key] = ref
        # Where the pipelines disagree with one another, in 1/255 levels.
        lv = {k: np.round((a * np.array(STD, np.float32)[:, None, None] + np.array(MEAN, np.float32)[:, None, None]) * 255)
              for k, a in (("openai", t_openai), ("hf_torchvision", t_hf), ("hf_pil", t_hfpil))}
        entry["levels_differ"] = {f"{a}-{b}": int((lv[a] != lv[b]).sum())
                                  for a, b in (("openai", "hf_pil"), ("hf_pil", "hf_torchvision"))}
        manifest["images"].append(entry)
        print(f"{name:32s} {mode:5s} {w}x{h} {len(data)} bytes")
    for name, data in bad_files(images).items():
        (OUT / name).write_bytes(data)
        try:
            Image.open(OUT / name).convert("RGB")
            pil = "loads"
        except Exception as e:  # noqa: BLE001 - record what PIL says
            pil = f"{type(e).__name__}: {e}"
        manifest["bad"].append({"file": name, "pil": pil})
        print(f"{name:32s} PIL: {pil}")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
