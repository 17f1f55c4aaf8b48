"""The command-line tool (`python -m goal`), run as users run it: in a subprocess, on the
model-folder fixtures. Its arrays must be exactly what goal.Model gives for the same inputs and
batch size, its failures one `goal: ...` line with status 1 (2 for bad usage), and a failed run
must leave no file behind, partial or temporary."""

import dataclasses
import io
import json
import os
import shutil

import numpy as np
import pytest

import goal
from cli_run import failed, run, succeeded
from conftest import FIXTURES
from goal._progress import Progress, format_duration

FOLDERS = ["hf_ts", "hf_248_dynamo", "openclip_immich"]
IMAGES = FIXTURES / "images"
GOOD_IMAGES = ["astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png", "chelsea_rgb_tall.png",
               "rocket_progressive.jpg"]


def folder(name) -> str:
    return str(FIXTURES / "folders" / name)


def captions() -> list:
    # Four captions of growing length; the last is 114 tokens, too long for a 77-token context.
    return [str(c) for c in np.load(FIXTURES / "folders" / "hf_ts" / "reference.npz")["captions"]]


def saved(path) -> np.ndarray:
    array = np.load(path)
    assert array.dtype == np.float32
    return array


# ---- info ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FOLDERS)
def test_info_json_is_the_models_info(name):
    printed = json.loads(succeeded(run("info", folder(name), "--json")).stdout)
    with goal.Model(folder(name)) as model:
        for field, value in dataclasses.asdict(model.info).items():
            assert printed[field] == value, field
        assert printed["files"] == model.files
    assert printed["path"] == folder(name)


def test_info_text_names_the_numbers_and_files():
    out = succeeded(run("info", folder("openclip_immich"))).stdout.decode()
    assert "dim             16" in out
    assert "context length  77 tokens" in out
    assert "convention      openai" in out
    assert "textual/model.onnx" in out and "visual/model.onnx" in out


# ---- encode-text --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FOLDERS)
def test_encode_text_equals_the_binding(name, tmp_path):
    texts = captions()
    out = tmp_path / "texts.npy"
    # Batch size 3 over 4 texts: two chunks, so the chunked run itself is checked.
    succeeded(run("encode-text", folder(name), *texts, "-o", out, "--batch-size", 3))
    with goal.Model(folder(name), batch_size=3) as model:
        expected = model.encode_text(texts)
    assert np.array_equal(saved(out), expected)
    assert saved(out).shape == (4, 16)


def test_file_and_stdin_give_one_text_per_line(tmp_path):
    texts = captions() + ["", "naïve café — ünïcode"]
    out_args, out_file, out_stdin = tmp_path / "a.npy", tmp_path / "f.npy", tmp_path / "s.npy"
    lines = tmp_path / "captions.txt"
    # Windows line ends and a byte-order mark are not part of any text.
    lines.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(texts).encode() + b"\r\n")
    succeeded(run("encode-text", folder("hf_ts"), *texts, "-o", out_args))
    succeeded(run("encode-text", folder("hf_ts"), "--file", lines, "-o", out_file))
    succeeded(run("encode-text", folder("hf_ts"), "--file", "-", "-o", out_stdin, stdin="\n".join(texts).encode()))
    with goal.Model(folder("hf_ts")) as model:
        expected = model.encode_text(texts)
    for out in (out_args, out_file, out_stdin):
        assert np.array_equal(saved(out), expected), out


def test_options_may_come_between_texts(tmp_path):
    out = tmp_path / "t.npy"
    succeeded(run("encode-text", folder("hf_ts"), "a cat", "-o", out, "--threads", 1, "a dog", "--", "-a dash"))
    with goal.Model(folder("hf_ts")) as model:
        assert np.array_equal(saved(out), model.encode_text(["a cat", "a dog", "-a dash"]))


def test_long_text_sentences_and_truncate_follow_the_binding(tmp_path):
    texts = captions()
    for mode in ("truncate", "sentences"):
        out = tmp_path / f"{mode}.npy"
        succeeded(run("encode-text", folder("hf_ts"), *texts, "-o", out, "--long-text", mode))
        with goal.Model(folder("hf_ts"), long_text=mode) as model:
            assert np.array_equal(saved(out), model.encode_text(texts)), mode
    assert not np.array_equal(np.load(tmp_path / "truncate.npy")[3], np.load(tmp_path / "sentences.npy")[3])


def test_sentences_in_chunks_equal_the_binding_per_chunk(tmp_path):
    # In sentence mode the library batches sentences, not texts, so one call over all texts is
    # batched differently from the tool's chunks; the tool's rows are the per-chunk calls'.
    texts = captions() * 2
    out = tmp_path / "t.npy"
    succeeded(run("encode-text", folder("hf_ts"), *texts, "-o", out, "--long-text", "sentences", "--batch-size", 3))
    with goal.Model(folder("hf_ts"), long_text="sentences", batch_size=3) as model:
        expected = np.concatenate([model.encode_text(texts[i:i + 3]) for i in range(0, len(texts), 3)])
    assert np.array_equal(saved(out), expected)


def test_long_text_fail_names_the_text_among_all(tmp_path):
    out = tmp_path / "t.npy"
    # The long caption is text 3 overall but text 1 of the second chunk of 2.
    stderr = failed(run("encode-text", folder("hf_ts"), *captions(), "-o", out, "--long-text", "fail",
                        "--batch-size", 2))
    assert stderr.startswith("goal: text 3 is 114 tokens"), stderr
    assert os.listdir(tmp_path) == []


def test_text_file_problems_are_errors(tmp_path):
    out = tmp_path / "t.npy"
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (tmp_path / "empty.txt").write_bytes(b"")
    assert "not UTF-8" in failed(run("encode-text", folder("hf_ts"), "-f", tmp_path / "latin1.txt", "-o", out))
    assert "no texts" in failed(run("encode-text", folder("hf_ts"), "-f", tmp_path / "empty.txt", "-o", out))
    assert "No such file" in failed(run("encode-text", folder("hf_ts"), "-f", tmp_path / "none.txt", "-o", out))
    assert not out.exists()


# ---- encode-image -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FOLDERS)
def test_encode_image_equals_the_binding_and_lists_the_files(name, tmp_path):
    files = [str(IMAGES / f) for f in GOOD_IMAGES]
    out = tmp_path / "images.npy"
    succeeded(run("encode-image", folder(name), *files, "-o", out, "--batch-size", 2))
    with goal.Model(folder(name), batch_size=2) as model:
        expected = model.encode_image(files)
    assert np.array_equal(saved(out), expected)
    assert (tmp_path / "images.txt").read_text().splitlines() == files


def test_a_folder_gives_its_images_sorted(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for source, target in [("chelsea_422.jpg", "b.jpeg"), ("camera_gray.png", "a.png"),
                           ("astronaut_wide.jpg", "C.JPG"), ("truncated.jpg", ".hidden.jpg")]:
        shutil.copy(IMAGES / source, images / target)
    (images / "notes.txt").write_text("not an image")
    (images / "sub.png").mkdir()  # a folder, whatever its name
    out = tmp_path / "out.npy"
    listed = succeeded(run("encode-image", folder("hf_ts"), images, "-o", out, "--list")).stdout.decode()
    files = [str(images / name) for name in ("C.JPG", "a.png", "b.jpeg")]
    assert listed.splitlines() == files
    assert not (tmp_path / "out.txt").exists()  # --list prints the list instead
    with goal.Model(folder("hf_ts")) as model:
        assert np.array_equal(saved(out), model.encode_image(files))


def test_an_unreadable_image_fails_and_leaves_nothing(tmp_path):
    out = tmp_path / "images.npy"
    files = [IMAGES / "astronaut_wide.jpg", IMAGES / "camera_gray.png", IMAGES / "truncated.jpg"]
    # Chunks of 2: the bad image is image 0 of the second chunk, image 2 of the run.
    stderr = failed(run("encode-image", folder("hf_ts"), *files, "-o", out, "--batch-size", 2, "--progress"))
    assert f"goal: image 2: {IMAGES / 'truncated.jpg'}: " in stderr
    assert "cut short" in stderr
    assert os.listdir(tmp_path) == []  # no .npy, no .txt, no temporary file


def test_a_failed_run_keeps_the_previous_output(tmp_path):
    out = tmp_path / "images.npy"
    np.save(out, np.arange(3, dtype=np.float32))
    before = out.read_bytes()
    failed(run("encode-image", folder("hf_ts"), IMAGES / "astronaut_wide.jpg", IMAGES / "not_an_image.txt", "-o", out))
    assert out.read_bytes() == before
    assert os.listdir(tmp_path) == ["images.npy"]


# ---- errors and usage ---------------------------------------------------------------------------

def test_a_missing_model_folder_is_one_line_and_status_1(tmp_path):
    missing = tmp_path / "no_such_model"
    for args in (["info", missing], ["encode-text", missing, "a", "-o", tmp_path / "t.npy"],
                 ["encode-image", missing, IMAGES / "camera_gray.png", "-o", tmp_path / "i.npy"]):
        stderr = failed(run(*args))
        assert stderr == f"goal: {missing}: no such file or folder\n"
    assert os.listdir(tmp_path) == []


def test_a_missing_output_folder_fails_before_encoding(tmp_path):
    stderr = failed(run("encode-text", folder("hf_ts"), "a", "-o", tmp_path / "none" / "t.npy"))
    assert "does not exist" in stderr


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["info"],
    ["encode-text", "MODEL", "-o", "x.npy"],                   # no texts
    ["encode-text", "MODEL", "a", "--file", "-", "-o", "x.npy"],  # texts twice
    ["encode-text", "MODEL", "a"],                             # no -o
    ["encode-text", "MODEL", "a", "-o", "x.npy", "--batch-size", "0"],
    ["encode-text", "MODEL", "a", "-o", "x.npy", "--long-text", "shorten"],
    ["encode-image", "MODEL", "-o", "x.npy"],                  # no images
    ["encode-image", "MODEL", "i.png", "-o", "x.npy", "--threads", "-1"],
])
def test_bad_usage_is_status_2(args, tmp_path):
    stderr = failed(run(*args, cwd=tmp_path), status=2)
    assert "usage: goal" in stderr
    assert os.listdir(tmp_path) == []


# ---- progress -----------------------------------------------------------------------------------

def test_progress_is_drawn_on_stderr_when_asked(tmp_path):
    texts = [f"caption number {i}" for i in range(7)]
    out = tmp_path / "t.npy"
    result = succeeded(run("encode-text", folder("hf_ts"), *texts, "-o", out, "--batch-size", 2, "--progress"))
    stderr = result.stderr.decode()
    assert "7/7" in stderr and "100%" in stderr and "/s" in stderr and "ETA" in stderr
    assert stderr.endswith("\n") and result.stdout == b""


@pytest.mark.parametrize("extra", [[], ["--progress", "--quiet"]])
def test_progress_is_silent_off_a_terminal_or_when_quiet(extra, tmp_path):
    # stderr is a pipe here, not a terminal: no bar unless --progress, and --quiet wins over it.
    texts = [f"caption number {i}" for i in range(7)]
    result = succeeded(run("encode-text", folder("hf_ts"), *texts, "-o", tmp_path / "t.npy", "--batch-size", 2, *extra))
    assert result.stderr == b""


def test_progress_is_not_drawn_for_a_single_batch(tmp_path):
    result = succeeded(run("encode-text", folder("hf_ts"), "a", "b", "-o", tmp_path / "t.npy", "--progress"))
    assert result.stderr == b""


def test_progress_line():
    now = [0.0]
    stream = io.StringIO()
    with Progress(100, "texts", stream=stream, clock=lambda: now[0]) as bar:
        now[0] = 2.0
        bar.update(40)
        assert bar.line() == "texts   40/100   40% [#########...............]  20.0/s  ETA 0:03"
        now[0] = 5.0
        bar.update(60)
    assert stream.getvalue().endswith("100/100  100% [########################]  20.0/s  ETA 0:00\n")
    assert stream.getvalue().count("\r") == 2

    quiet = io.StringIO()
    with Progress(10, stream=quiet, enabled=False) as bar:
        bar.update(10)
    assert quiet.getvalue() == "" and bar.done == 10


def test_format_duration():
    assert format_duration(0) == "0:00"
    assert format_duration(65.4) == "1:05"
    assert format_duration(7384) == "2:03:04"
    assert format_duration(float("inf")) == "?"
