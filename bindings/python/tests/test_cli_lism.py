"""`goal lism` and `goal pairs`, run as users run them: in a subprocess, on the hf_ts fixture.

What they print and write must be what goal.Model.lism gives for the same inputs; `goal pairs`
must write one line per input line, record failed lines instead of stopping, and resume after
an interruption to exactly the file a single run writes."""

import json
import os
import shutil
import signal
import time

import numpy as np
import pytest

import goal
from cli_run import failed, run, succeeded
from conftest import FIXTURES

MODEL = str(FIXTURES / "folders" / "hf_ts")
IMAGES = FIXTURES / "images"
CAPTION = "A cat lies on a rug. The rug is red and old. Behind it, a wall."


@pytest.fixture(scope="module")
def model():
    with goal.Model(MODEL) as m:
        yield m


def pair(match, result) -> dict:
    """A match as `goal pairs` and `goal lism --json` write it, built here from the API's result."""
    sentence = result.sentences[match.sentence_index]
    return {"sentence": match.sentence, "sentence_index": match.sentence_index, "start": sentence.start,
            "end": sentence.end, "region_index": match.region_index, "box": list(match.box),
            "source": result.regions[match.region_index].source, "score": match.score}


# ---- goal lism ----------------------------------------------------------------------------------

LISM_CASES = [
    ([], {}),
    (["--grid", 2, 3, "--boxes", "10,10,200,150", "20.5,30,300,220", "--one-to-one",
      "--sentence-mode", "span_pooled", "--exclude-whole-image"],
     dict(grid=[2, 3], boxes=[(10, 10, 200, 150), (20.5, 30, 300, 220)], one_to_one=True,
          sentence_mode="span_pooled", best_excludes_whole_image=True)),
    (["--mode", "crop", "--no-spatial-division", "--grid", 2, "--naive-sentences", "--min-score", -20],
     dict(mode="crop", spatial_division=False, grid=[2], naive_sentences=True, min_score=-20.0)),
]


@pytest.mark.parametrize("arguments, keywords", LISM_CASES)
def test_lism_json_is_the_apis_result(arguments, keywords, model):
    image = IMAGES / "chelsea_422.jpg"
    printed = json.loads(succeeded(run("lism", MODEL, image, CAPTION, *arguments, "--json")).stdout)
    result = model.lism(str(image), CAPTION, **keywords)
    assert printed["regions"] == [{"box": list(r.box), "source": r.source,
                                   "index": list(r.index) if isinstance(r.index, tuple) else r.index}
                                  for r in result.regions]
    assert printed["sentences"] == [{"text": s.text, "start": s.start, "end": s.end, "tokens": list(s.tokens)}
                                    for s in result.sentences]
    scores = np.array(printed["scores"], dtype=np.float32)
    assert scores.shape == result.scores.shape and np.array_equal(scores, result.scores)
    assert printed["matches"] == [pair(m, result) for m in result.matches]
    assert printed["best"] == (pair(result.best, result) if result.best else None)


def test_lism_text_names_each_sentences_region_and_the_best(model):
    image = IMAGES / "astronaut_wide.jpg"
    out = succeeded(run("lism", MODEL, image, CAPTION, "--grid", 3)).stdout.decode().splitlines()
    result = model.lism(str(image), CAPTION, grid=3)
    assert len(out) == len(result.sentences) + 1
    for match in result.matches:
        line = out[match.sentence_index]
        box = ", ".join(f"{v:.1f}" for v in match.box)
        assert line.startswith(f"sentence {match.sentence_index} {json.dumps(match.sentence)} -> "
                               f"region {match.region_index} ("), line
        assert f"box ({box}) score {match.score:.2f}" in line
    assert out[-1].startswith(f"best: sentence {result.best.sentence_index} -> region {result.best.region_index} (")


def test_lism_unmatched_sentences_and_no_best_are_said():
    # A minimum no score reaches: every sentence is left without a region.
    out = succeeded(run("lism", MODEL, IMAGES / "camera_gray.png", CAPTION, "--min-score", 101)).stdout.decode()
    assert out.count("-> no region") == 3 and out.endswith("best: none\n")


def test_lism_failures():
    stderr = failed(run("lism", MODEL, IMAGES / "truncated.jpg", CAPTION))
    assert stderr.startswith(f"goal: {IMAGES / 'truncated.jpg'}: ") and "cut short" in stderr
    assert failed(run("lism", MODEL, IMAGES / "camera_gray.png", " ")).startswith("goal: ")


@pytest.mark.parametrize("args", [
    ["lism", MODEL, "image.jpg"],                                   # no caption
    ["lism", MODEL, "image.jpg", "a cat", "--boxes", "1,2,3"],      # three numbers
    ["lism", MODEL, "image.jpg", "a cat", "--grid", "0"],
    ["lism", MODEL, "image.jpg", "a cat", "--mode", "cropped"],
    ["pairs", MODEL, "in.jsonl"],                                   # no -o
    ["pairs", MODEL, "-o", "out.jsonl"],                            # no input
    ["pairs", MODEL, "in.jsonl", "-o", "out.jsonl", "--fsync-every", "0"],
])
def test_bad_usage_is_status_2(args, tmp_path):
    assert "usage: goal" in failed(run(*args, cwd=tmp_path), status=2)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(goal.Model, "heatmap"), reason="goal.Model has no heatmap() yet")
def test_lism_heatmaps_are_the_apis(model, tmp_path):
    image = IMAGES / "coffee_tall_444.jpg"
    folder = tmp_path / "maps"
    printed = json.loads(succeeded(run("lism", MODEL, image, CAPTION, "--heatmaps", folder, "--json")).stdout)
    sentences = [s["text"] for s in printed["sentences"]]
    assert sorted(os.listdir(folder)) == [f"sentence_{i}.png" for i in range(len(sentences))]
    assert printed["heatmaps"] == [str(folder / f"sentence_{i}.png") for i in range(len(sentences))]
    for i, text in enumerate(sentences):
        model.heatmap(str(image), text, path=str(tmp_path / "api.png"))
        assert (folder / f"sentence_{i}.png").read_bytes() == (tmp_path / "api.png").read_bytes(), i


# ---- goal pairs ---------------------------------------------------------------------------------

def dataset(tmp_path):
    """A JSONL of 8 lines (one blank, not counted) with images beside it: four good lines in
    the four layouts the input may have, and a missing image, an empty caption, a broken JPEG
    and a line that is not JSON."""
    for name in ("chelsea_422.jpg", "astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png", "truncated.jpg"):
        shutil.copy(IMAGES / name, tmp_path / name)
    lines = [
        {"image": "chelsea_422.jpg", "caption": CAPTION},
        {"id": "astro", "image_path": "astronaut_wide.jpg", "text": "An astronaut. A flag behind her."},
        {"image": "missing.jpg", "caption": "Nothing is here."},
        {"file_name": "coffee_tall_444.jpg", "description": "A cup of coffee. Steam rises.",
         "boxes": [[10, 10, 100, 200], [20, 120, 180, 240]]},
        {"image": "camera_gray.png", "caption": "  "},
        {"image": "truncated.jpg", "caption": "A broken picture."},
        "{not json",
        {"example_id": "cam", "image_file": "camera_gray.png", "caption": "A man with a camera. Grass. Sky."},
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path = tmp_path / "in.jsonl"
    path.write_text(text.replace("\n", "\n\n", 1) + "\n")  # a blank second line: skipped, still counted
    return path


EXPECTED_IDS = [1, "astro", 4, 5, 6, 7, 8, "cam"]  # line numbers, the blank line 2 included
FAILED = {4: "cannot open the file", 6: "the caption is empty", 7: "cut short", 8: "not JSON"}


def read_output(path) -> list:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode().splitlines()]


def test_pairs_writes_one_line_per_input_line_with_the_apis_matches(model, tmp_path):
    source, out = dataset(tmp_path), tmp_path / "out.jsonl"
    result = succeeded(run("pairs", MODEL, source, "-o", out, "--grid", 2))
    records = read_output(out)
    assert [r["id"] for r in records] == EXPECTED_IDS
    given = {1: ("chelsea_422.jpg", CAPTION, None),
             "astro": ("astronaut_wide.jpg", "An astronaut. A flag behind her.", None),
             5: ("coffee_tall_444.jpg", "A cup of coffee. Steam rises.", [[10, 10, 100, 200], [20, 120, 180, 240]]),
             "cam": ("camera_gray.png", "A man with a camera. Grass. Sky.", None)}
    for record in records:
        if record["id"] in FAILED:
            assert set(record) == {"id", "image", "error"}
            assert FAILED[record["id"]] in record["error"], record
            continue
        image, caption, boxes = given[record["id"]]
        expected = model.lism(str(tmp_path / image), caption, boxes=boxes, grid=2)
        assert record == {"id": record["id"], "image": image, "caption": caption,
                          "pairs": [pair(m, expected) for m in expected.matches],
                          "best": pair(expected.best, expected) if expected.best else None}
        assert record["pairs"], "each good line has matches"
    stderr = result.stderr.decode()
    for line in FAILED:
        assert f"{source} line {line}: " in stderr
    assert "8 lines, 4 with pairs, 4 failed" in stderr


def test_images_root_and_absolute_paths(model, tmp_path):
    source, out = tmp_path / "lists" / "in.jsonl", tmp_path / "out.jsonl"
    source.parent.mkdir()
    source.write_text(json.dumps({"image": "chelsea_422.jpg", "caption": CAPTION}) + "\n"
                      + json.dumps({"image": str(IMAGES / "camera_gray.png"), "caption": CAPTION}) + "\n")
    # Relative to the JSONL's folder by default: not found there.
    succeeded(run("pairs", MODEL, source, "-o", out, "-q"))
    assert "error" in read_output(out)[0] and "error" not in read_output(out)[1]
    out.unlink()
    succeeded(run("pairs", MODEL, source, "-o", out, "--images-root", IMAGES))
    first = read_output(out)[0]
    assert first["pairs"] == [pair(m, r) for r in [model.lism(str(IMAGES / "chelsea_422.jpg"), CAPTION)]
                              for m in r.matches]


def test_a_torn_line_is_cut_off_and_the_rest_done_once(tmp_path):
    source = dataset(tmp_path)
    whole, out = tmp_path / "whole.jsonl", tmp_path / "out.jsonl"
    succeeded(run("pairs", MODEL, source, "-o", whole))
    data = whole.read_bytes()
    lines = data.splitlines(keepends=True)
    done = len(lines[0]) + len(lines[1])
    # Killed in the middle of line 3, and killed after writing line 3 but before its newline.
    for cut in (done + len(lines[2]) // 2, done + len(lines[2]) - 1):
        out.write_bytes(data[:cut])
        stderr = succeeded(run("pairs", MODEL, source, "-o", out)).stderr.decode()
        assert f"cut off an incomplete last line ({cut - done} bytes)" in stderr
        assert "6 processed now (4 failed), 2 done before" in stderr
        assert out.read_bytes() == data
    # Nothing left to do: the file stays as it is.
    assert "0 processed now" in succeeded(run("pairs", MODEL, source, "-o", out)).stderr.decode()
    assert out.read_bytes() == data


def test_a_killed_run_resumes_to_the_same_file(tmp_path):
    for name in ("chelsea_422.jpg", "astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png"):
        shutil.copy(IMAGES / name, tmp_path / name)
    names = sorted(p.name for p in tmp_path.iterdir())
    source = tmp_path / "in.jsonl"
    # Crop mode: slow enough per line that the kill lands mid-run.
    source.write_text("".join(json.dumps({"id": f"n{i}", "image": names[i % 4], "caption": f"{CAPTION} Number {i}."})
                              + "\n" for i in range(150)))
    whole, out = tmp_path / "whole.jsonl", tmp_path / "out.jsonl"
    succeeded(run("pairs", MODEL, source, "-o", whole, "--mode", "crop", "--grid", 3))
    process = run("pairs", MODEL, source, "-o", out, "--mode", "crop", "--grid", 3, wait=False)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 2:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    succeeded(run("pairs", MODEL, source, "-o", out, "--mode", "crop", "--grid", 3))
    assert out.read_bytes() == whole.read_bytes()


def test_failed_lines_are_kept_unless_retried(tmp_path):
    source, out = dataset(tmp_path), tmp_path / "out.jsonl"
    succeeded(run("pairs", MODEL, source, "-o", out))
    # Mark a good line, to see that a retry leaves it alone.
    records = read_output(out)
    records[0]["marked"] = True
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    before = out.read_bytes()
    shutil.copy(IMAGES / "chelsea_422.jpg", tmp_path / "missing.jpg")  # the missing image appears

    stderr = succeeded(run("pairs", MODEL, source, "-o", out)).stderr.decode()
    assert out.read_bytes() == before and "0 processed now" in stderr

    stderr = succeeded(run("pairs", MODEL, source, "-o", out, "--retry-errors")).stderr.decode()
    assert "4 processed now (3 failed), 4 done before" in stderr
    after = read_output(out)
    assert [r["id"] for r in after] == EXPECTED_IDS  # back in input order, none twice
    assert after[0] == records[0]
    assert "pairs" in after[2] and after[2]["caption"] == "Nothing is here."
    assert [r for i, r in enumerate(after) if i != 2] == [r for i, r in enumerate(records) if i != 2]


def test_progress_and_quiet(tmp_path):
    source = dataset(tmp_path)
    stderr = succeeded(run("pairs", MODEL, source, "-o", tmp_path / "a.jsonl", "--progress")).stderr.decode()
    assert "8/8" in stderr and "100%" in stderr and "ETA" in stderr
    # Off a terminal without --progress, or with --quiet: only the failed lines are reported.
    for extra in ([], ["--progress", "--quiet"]):
        out = tmp_path / f"q{len(extra)}.jsonl"
        stderr = succeeded(run("pairs", MODEL, source, "-o", out, *extra)).stderr.decode()
        assert "ETA" not in stderr
        assert len(stderr.splitlines()) == len(FAILED) + (0 if extra else 1)


# ---- goal pairs: what stops a run ---------------------------------------------------------------

def test_a_model_that_does_not_open_is_status_1_and_writes_nothing(tmp_path):
    source, out = dataset(tmp_path), tmp_path / "out.jsonl"
    stderr = failed(run("pairs", tmp_path / "no_model", source, "-o", out))
    assert stderr == f"goal: {tmp_path / 'no_model'}: no such file or folder\n"
    assert not out.exists()


def test_repeated_ids_stop_before_any_work(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    # Line 2 has no id, so its id is 2: the same as line 1's.
    source.write_text('{"id": 2, "image": "a.jpg", "caption": "x"}\n{"image": "b.jpg", "caption": "y"}\n')
    assert "line 2: id 2 is line 1's too" in failed(run("pairs", MODEL, source, "-o", out))
    assert not out.exists()


def test_an_output_damaged_before_its_last_line_is_left_alone(tmp_path):
    source, out = dataset(tmp_path), tmp_path / "out.jsonl"
    out.write_text('{"id": 1, "pairs": []}\nsomething else\n{"id": 4, "error": "x"}\n')
    before = out.read_bytes()
    assert "line 2: not a line `goal pairs` wrote" in failed(run("pairs", MODEL, source, "-o", out))
    assert out.read_bytes() == before


@pytest.mark.parametrize("case", ["missing input", "output is input", "output folder", "images root"])
def test_path_problems(case, tmp_path):
    source = dataset(tmp_path)
    args = {"missing input": [tmp_path / "none.jsonl", "-o", tmp_path / "out.jsonl"],
            "output is input": [source, "-o", source],
            "output folder": [source, "-o", tmp_path / "none" / "out.jsonl"],
            "images root": [source, "-o", tmp_path / "out.jsonl", "--images-root", tmp_path / "none"]}[case]
    stderr = failed(run("pairs", MODEL, *args), status=2 if case == "output is input" else 1)
    assert not (tmp_path / "out.jsonl").exists()
    assert stderr.splitlines()[-1].startswith("goal")  # one line, or argparse's usage and one line
