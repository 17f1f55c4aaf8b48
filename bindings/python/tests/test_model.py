"""goal.Model end to end on the model-folder fixtures, against what PyTorch computed when the
fixtures were made (fixtures/folders/*/reference.npz) and against onnxruntime run here on the
same graphs with the inputs the reference pipelines made.

Tolerances (from the issue): cosine >= 0.99999 for text, >= 0.9999 for images from files; token
embeddings within 1e-5 (text) and 1e-4 (patches) of the head applied by PyTorch, both
normalised."""

import json
import shutil
import threading

import numpy as np
import onnxruntime
import pytest

import goal
from conftest import FIXTURES

FOLDERS = FIXTURES / "folders"
IMAGES = FIXTURES / "images"

# Facts of each fixture folder, from the configs the fixture script wrote (see its README).
EXPECTED_INFO = {
    "hf_ts": dict(dim=16, context_length=77, image_size=32, patch_size=8, convention="huggingface"),
    "hf_248_dynamo": dict(dim=16, context_length=248, image_size=32, patch_size=8, convention="huggingface"),
    "openclip_immich": dict(dim=16, context_length=77, image_size=32, patch_size=8, convention="openai"),
    "hf_combined": dict(dim=16, context_length=77, image_size=32, patch_size=8, convention="huggingface"),
}
NAMES = sorted(EXPECTED_INFO)


def reference(name):
    return np.load(FOLDERS / name / "reference.npz")


def pooled(ref, tower):
    """The PyTorch pooled output of a tower, normalised: the only 2-D `tower.*` member."""
    keys = [k for k in ref.files if k.startswith(tower + ".") and ref[k].ndim == 2 and ".head." not in k]
    assert len(keys) == 1, keys
    out = ref[keys[0]].astype(np.float64)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def normalised(x):
    x = x.astype(np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def reference_ids(ref):
    """Each caption's ids as the reference pipeline made them, padding removed."""
    if "input_ids" in ref.files:
        return [list(row[mask == 1]) for row, mask in zip(ref["input_ids"], ref["attention_mask"])]
    # open_clip pads with 0 after the end token.
    return [list(row[: list(row).index(49407) + 1]) for row in ref["text"]]


@pytest.fixture(scope="module", params=NAMES)
def folder(request):
    name = request.param
    with goal.Model(FOLDERS / name) as model:
        yield name, model, reference(name)


def test_info_is_read_from_the_folder(folder):
    name, model, _ = folder
    assert {k: getattr(model.info, k) for k in EXPECTED_INFO[name]} == EXPECTED_INFO[name]
    assert model.info.has_text and model.info.has_image
    for role in ("text_model", "vision_model", "tokenizer", "preprocessor_config"):
        assert model.files[role] is not None and (FOLDERS / name).as_posix() in model.files[role]


def test_tokenize_equals_the_reference_pipeline(folder):
    _, model, ref = folder
    for caption, ids in zip(ref["captions"], reference_ids(ref)):
        assert model.tokenize(str(caption)) == [int(i) for i in ids]


def test_encode_text_matches_pytorch(folder):
    _, model, ref = folder
    got = model.encode_text([str(c) for c in ref["captions"]])
    assert got.dtype == np.float32 and got.shape == (len(ref["captions"]), model.info.dim)
    cosine = np.sum(got * pooled(ref, "text"), axis=1)
    assert cosine.min() >= 0.99999, cosine


def test_encode_image_files_matches_pytorch(folder):
    _, model, ref = folder
    paths = [IMAGES / str(f) for f in ref["image_files"]]
    got = model.encode_image(paths)
    cosine = np.sum(got * pooled(ref, "vision"), axis=1)
    assert cosine.min() >= 0.9999, cosine


def test_image_sources_agree(folder):
    """Files, encoded bytes and Pillow-decoded pixels are the same pictures."""
    from PIL import Image

    _, model, ref = folder
    paths = [IMAGES / str(f) for f in ref["image_files"]]
    from_files = model.encode_image(paths)
    from_bytes = model.encode_image([p.read_bytes() for p in paths])
    from_pixels = model.encode_image([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    mixed = model.encode_image([paths[0], paths[1].read_bytes(), np.asarray(Image.open(paths[2]).convert("RGB"))])
    np.testing.assert_array_equal(from_bytes, from_files)
    np.testing.assert_array_equal(from_pixels, from_files)
    # A mixed list runs in one call per kind, so batches differ and rounding may too.
    np.testing.assert_allclose(mixed, from_files, atol=1e-6)


def test_matches_onnxruntime_on_reference_inputs(folder):
    """The graphs, fed what the reference tokenizer and preprocessing made, in onnxruntime."""
    _, model, ref = folder
    for tower, role, ours in (("text", "text_model", model.encode_text([str(c) for c in ref["captions"]])),
                              ("vision", "vision_model", model.encode_image([IMAGES / str(f) for f in ref["image_files"]]))):
        session = onnxruntime.InferenceSession(model.files[role], providers=["CPUExecutionProvider"])
        feeds = {i.name: ref[i.name] for i in session.get_inputs()}
        outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
        # The tower's embedding: the one 2-D output of a tower file, or its named one in a
        # file holding both towers.
        named = {"text": "text_embeds", "vision": "image_embeds"}[tower]
        expected = outputs[named] if len(outputs) > 2 else [v for v in outputs.values() if v.ndim == 2][0]
        cosine = np.sum(ours * normalised(expected), axis=1)
        assert cosine.min() >= (0.99999 if tower == "text" else 0.9999), (tower, cosine)


def test_text_tokens_equal_the_pytorch_head(folder):
    _, model, ref = folder
    for i, caption in enumerate(ref["captions"]):
        tokens = model.text_tokens(str(caption))
        n = len(tokens.ids)
        assert list(tokens.ids) == model.tokenize(str(caption))
        expected = normalised(ref["text.tokens"][i, :n])
        assert np.abs(tokens.embeddings - expected).max() <= 1e-5
        # The end token is where CLIP text towers pool: its row is the global embedding.
        np.testing.assert_allclose(tokens.embeddings[-1], model.encode_text([str(caption)])[0], atol=1e-5)


def test_text_token_spans_are_character_offsets(folder):
    _, model, _ = folder
    text = "Ünïcode café — 東京 at 3.5 m, isn't it?"
    tokens = model.text_tokens(text)
    assert tokens.spans[0] == (0, 0) and tokens.spans[-1] == (len(text), len(text))
    starts = [s for s, _ in tokens.spans]
    assert starts == sorted(starts)
    pieces = [text[s:e] for s, e in tokens.spans[1:-1]]
    assert "café" in "".join(pieces) and "東" in pieces


def test_image_tokens_equal_the_pytorch_head(folder):
    _, model, ref = folder
    for j, file in enumerate(ref["image_files"]):
        tokens = model.image_tokens(IMAGES / str(file))
        assert tokens.grid == (4, 4)
        expected = normalised(ref["vision.tokens"][j])
        assert tokens.embeddings.shape == expected.shape
        assert np.abs(tokens.embeddings - expected).max() <= 1e-4


def test_batch_size_does_not_change_results(folder):
    name, model, ref = folder
    captions = [str(c) for c in ref["captions"]] * 3
    with goal.Model(FOLDERS / name, batch_size=1) as one:
        np.testing.assert_allclose(one.encode_text(captions), model.encode_text(captions), atol=1e-6)
        paths = [IMAGES / str(f) for f in ref["image_files"]]
        np.testing.assert_allclose(one.encode_image(paths), model.encode_image(paths), atol=1e-6)


def long_text(sentence_count):
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]
    shapes = ["circle", "square", "triangle", "star"]
    return [f"A {colours[i % 8]} {shapes[i % 4]} number {i} sits near the {colours[(i + 3) % 8]} edge of the frame."
            for i in range(sentence_count)]


def test_long_text_rules(folder):
    name, _, _ = folder
    sentences = long_text(40)
    text = " ".join(sentences)
    with goal.Model(FOLDERS / name, long_text="fail") as strict:
        assert len(strict.tokenize(text, truncate=False)) > strict.info.context_length
        with pytest.raises(goal.InvalidArgumentError, match="tokens"):
            strict.encode_text([text])
    with goal.Model(FOLDERS / name, long_text="sentences") as split:
        got = split.encode_text([text, sentences[0]])
        expected = normalised(split.encode_text(sentences).mean(axis=0))
        np.testing.assert_allclose(got[0], expected, atol=1e-5)
        # A text that fits is encoded whole, as in the default mode.
        with goal.Model(FOLDERS / name) as whole:
            np.testing.assert_allclose(got[1], whole.encode_text([sentences[0]])[0], atol=1e-6)


def test_threads_share_one_model(folder):
    _, model, ref = folder
    captions = [str(c) for c in ref["captions"]]
    paths = [IMAGES / str(f) for f in ref["image_files"]]
    text, image = model.encode_text(captions), model.encode_image(paths)
    failures = []

    def work():
        for _ in range(3):
            if not (np.array_equal(model.encode_text(captions), text) and np.array_equal(model.encode_image(paths), image)):
                failures.append("differs")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


# ---- files named one by one, partial folders, and what goes wrong --------------------------------

def test_explicit_files_make_a_text_only_model(tmp_path):
    hf = FOLDERS / "hf_ts"
    with goal.Model(text_model=hf / "text_model.onnx", tokenizer=hf / "tokenizer.json") as model:
        assert model.info.has_text and not model.info.has_image and model.info.image_size == 0
        with goal.Model(hf) as full:
            np.testing.assert_array_equal(model.encode_text(["a cat"]), full.encode_text(["a cat"]))
        with pytest.raises(goal.UnsupportedError, match="no image tower"):
            model.encode_image([IMAGES / "astronaut_wide.jpg"])


def test_a_vision_only_folder_opens(tmp_path):
    shutil.copy(FOLDERS / "hf_ts" / "vision_model.onnx", tmp_path)
    shutil.copy(FOLDERS / "hf_ts" / "preprocessor_config.json", tmp_path)
    with goal.Model(tmp_path) as model:
        assert model.info.has_image and not model.info.has_text and model.info.dim == 16
        with pytest.raises(goal.UnsupportedError, match="no text tower"):
            model.encode_text(["a cat"])


def test_missing_pieces_are_named(tmp_path):
    with pytest.raises(goal.ModelNotFoundError, match="no such file or folder"):
        goal.Model(tmp_path / "absent")
    with pytest.raises(goal.ModelNotFoundError, match="text_model.onnx"):
        goal.Model(tmp_path)
    shutil.copy(FOLDERS / "hf_ts" / "text_model.onnx", tmp_path)
    with pytest.raises(goal.ModelNotFoundError, match="tokenizer.json"):
        goal.Model(tmp_path)


def test_bad_configs_are_refused(tmp_path):
    for file in ("text_model.onnx", "vision_model.onnx", "tokenizer.json"):
        shutil.copy(FOLDERS / "hf_ts" / file, tmp_path)
    config = json.loads((FOLDERS / "hf_ts" / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(dict(config, resample=2)))
    with pytest.raises(goal.UnsupportedError, match="bicubic"):
        goal.Model(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(dict(config, crop_size=224, size=224)))
    with pytest.raises(goal.InvalidModelError, match="32 px"):
        goal.Model(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text("{ not json")
    with pytest.raises(goal.InvalidModelError, match="JSON"):
        goal.Model(tmp_path)


def test_bad_inputs_are_statuses():
    with goal.Model(FOLDERS / "hf_ts") as model:
        with pytest.raises(goal.InvalidArgumentError, match="UTF-8"):
            model.encode_text([b"caf\xc3"])
        with pytest.raises(goal.ModelNotFoundError, match="image 1"):
            model.encode_image([IMAGES / "astronaut_wide.jpg", IMAGES / "absent.jpg"])
        with pytest.raises(goal.GoalError, match="image 0"):
            model.encode_image([IMAGES / "truncated_header.jpg"])
        with pytest.raises(goal.InvalidArgumentError, match="uint8"):
            model.encode_image([np.zeros((8, 8, 3), dtype=np.float32)])
        with pytest.raises(goal.InvalidArgumentError, match="shape"):
            model.encode_image([np.zeros((8, 8, 2), dtype=np.uint8)])
        assert model.encode_text([]).shape == (0, 16)
        assert model.encode_image([]).shape == (0, 16)
    with pytest.raises(goal.InvalidArgumentError, match="convention"):
        goal.Model(FOLDERS / "hf_ts", convention="pil")


# ---- transparency: the conventions differ ------------------------------------------------------

ALPHA_FILES = ["astronaut_rgba.png", "camera_la16_interlaced.png", "chelsea_palette4_trns.png"]


def pil_rgb(path, over_white):
    """What each reference makes of a file: transformers' convert_to_rgb (alpha_composite over
    white) or PIL's convert("RGB")."""
    from PIL import Image

    image = Image.open(path)
    if not over_white:
        return np.asarray(image.convert("RGB"))
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image.convert("RGBA")).convert("RGB"))


@pytest.mark.parametrize("name,convention,over_white", [
    ("hf_ts", "auto", True), ("openclip_immich", "auto", False),
    ("hf_ts", "openai", False), ("openclip_immich", "huggingface", True)])
def test_transparency_follows_the_convention(name, convention, over_white):
    with goal.Model(FOLDERS / name, convention=convention) as model:
        paths = [IMAGES / f for f in ALPHA_FILES]
        expected = model.encode_image([pil_rgb(p, over_white) for p in paths])
        np.testing.assert_array_equal(model.encode_image(paths), expected)
        # Pixel arrays with alpha: transformers blends them in floating point, rounding half to even.
        rgba = np.asarray(__import__("PIL.Image").Image.open(paths[0]).convert("RGBA"))
        if over_white:
            a = rgba[..., 3:4] / 255.0
            rgb = np.round(a * rgba[..., :3] + (1 - a) * 255).astype(np.uint8)
        else:
            rgb = rgba[..., :3]
        np.testing.assert_array_equal(model.encode_image([rgba]), model.encode_image([np.ascontiguousarray(rgb)]))


def test_immichs_own_layout(tmp_path):
    """immich's exports keep the tokenizer in textual/, the preprocessing in
    visual/preprocess_cfg.json and the model config in config.json: rebuilt from the fixture."""
    source = FOLDERS / "openclip_immich"
    (tmp_path / "textual").mkdir()
    (tmp_path / "visual").mkdir()
    shutil.copy(source / "textual" / "model.onnx", tmp_path / "textual")
    shutil.copy(source / "visual" / "model.onnx", tmp_path / "visual")
    shutil.copy(FOLDERS / "hf_ts" / "tokenizer.json", tmp_path / "textual")
    config = json.loads((source / "open_clip_config.json").read_text())
    (tmp_path / "visual" / "preprocess_cfg.json").write_text(json.dumps(config["preprocess_cfg"]))
    (tmp_path / "config.json").write_text(json.dumps(config["model_cfg"]))
    ref = reference("openclip_immich")
    with goal.Model(tmp_path) as model, goal.Model(source) as fixture:
        assert model.info == fixture.info
        assert model.files["tokenizer"].endswith("textual/tokenizer.json")
        assert model.files["preprocessor_config"].endswith("visual/preprocess_cfg.json")
        captions = [str(c) for c in ref["captions"]]
        np.testing.assert_array_equal(model.encode_text(captions), fixture.encode_text(captions))
        paths = [IMAGES / str(f) for f in ref["image_files"]]
        np.testing.assert_array_equal(model.encode_image(paths), fixture.encode_image(paths))


def test_tokenize_batch_equals_one_at_a_time():
    corpus = [json.loads(line) for line in (FIXTURES / "tokenizer" / "corpus.jsonl").read_text().splitlines()]
    # Lower-casing "İ" makes 3 bytes of 2: more tokens than the first guess of room.
    texts = corpus[:500] + ["", "İ" * 200, "a" * 1000]
    with goal.Model(FOLDERS / "openclip_immich") as model:
        for truncate in (True, False):
            assert model.tokenize_batch(texts, truncate=truncate) == [model.tokenize(t, truncate=truncate) for t in texts]
        assert model.tokenize_batch([]) == []
        with pytest.raises(goal.InvalidArgumentError, match="text 2"):
            model.tokenize_batch(["a", "b", b"caf\xc3"])
