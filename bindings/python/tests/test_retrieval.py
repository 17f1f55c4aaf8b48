"""goal.retrieval: recall metrics on hand-made similarity matrices, the dataset loaders, the local
scores against the library's own (late interaction, LISM), and goal.rerank."""

import argparse
import json

import numpy as np
import pytest

import goal
from conftest import FIXTURES
from goal import evaluate, retrieval
from goal.retrieval import (DatasetError, late_scores, lism_scores, load_dataset, recalls, rerank, reranked_ranks,
                            top_candidates, true_ranks)

MODEL = str(FIXTURES / "folders" / "hf_248_dynamo")
IMAGES = FIXTURES / "images"
CAPTION = "A cat lies on a rug. The rug is red and old. Behind it, a wall."


@pytest.fixture(scope="module")
def model():
    with goal.Model(MODEL) as m:
        yield m


# ---- metrics ------------------------------------------------------------------------------------

# Row q scores the items for query q; query q's true item is item q.
HAND = np.array([
    [0.9, 0.1, 0.2, 0.3],   # the true item is best: rank 0
    [0.5, 0.4, 0.6, 0.1],   # two items above it (0.5, 0.6): rank 2
    [0.7, 0.7, 0.7, 0.7],   # all tied: items 0 and 1 come first (lower index): rank 2
    [0.8, 0.2, 0.9, 0.8],   # 0.8 at item 0 ties and has a lower index, 0.9 is higher: rank 2
])


def test_true_ranks_by_hand():
    assert true_ranks(HAND, [0, 1, 2, 3]).tolist() == [0, 2, 2, 2]
    # Several true items: the best placed counts (row 1: item 2 is first).
    assert true_ranks(HAND, [[0], [1, 2], [3, 2], [1]]).tolist() == [0, 0, 2, 3]


def test_recalls_by_hand():
    ranks = true_ranks(HAND, [0, 1, 2, 3])
    assert recalls(ranks, [1, 2, 3, 5]) == {"R@1": 25.0, "R@2": 25.0, "R@3": 100.0, "R@5": 100.0}
    assert retrieval.clipped_ks([1, 5, 25, 50], 4) == {"R@5": 4, "R@25": 4, "R@50": 4}
    assert retrieval.clipped_ks([1, 5], 30) == {}


def test_true_ranks_agree_with_sorting_in_chunks():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=(37, 23)), 1)  # rounded: plenty of ties
    truth = rng.integers(0, 23, size=37)
    expected = [list(np.argsort(-s[q], kind="stable")).index(truth[q]) for q in range(37)]
    assert true_ranks(s, truth, chunk=5).tolist() == expected
    assert np.array_equal(top_candidates(s, 4, chunk=5), np.argsort(-s, axis=1, kind="stable")[:, :4])


def test_reranked_ranks_by_hand():
    s = np.array([[0.9, 0.8, 0.7, 0.1],     # truth 2, at global rank 2
                  [0.9, 0.8, 0.7, 0.6]])    # truth 3, outside the first 3
    truth = [2, 3]
    candidates = top_candidates(s, 3)
    assert candidates.tolist() == [[0, 1, 2], [0, 1, 2]]
    local = [np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0])]
    # Weight 1: query 0's truth has the best local score and comes first; query 1's truth was
    # not a candidate and keeps its rank.
    assert reranked_ranks(s, truth, candidates, local, 1.0).tolist() == [0, 3]
    # Weight 0: nothing moves.
    assert reranked_ranks(s, truth, candidates, local, 0.0).tolist() == true_ranks(s, truth).tolist() == [2, 3]
    # Final scores of query 0's candidates (items 0, 1, 2) with weight w: 0.9(1-w), 0.8(1-w), 0.7(1-w) + w.
    assert reranked_ranks(s, truth, candidates, local, 0.05).tolist() == [2, 3]  # .855, .76, .715
    assert reranked_ranks(s, truth, candidates, local, 0.1).tolist() == [1, 3]   # .81, .72, .73
    assert reranked_ranks(s, truth, candidates, local, 0.2).tolist() == [0, 3]   # .72, .64, .76


class FakeModel:
    """encode_text / encode_image giving chosen embeddings: the protocol without a network."""

    def __init__(self, texts, images):
        self.texts, self.images = texts, images
        self.info = goal.ModelInfo(dim=texts.shape[1], context_length=77, image_size=32, patch_size=8,
                                   convention="huggingface", has_text=True, has_image=True)
        self.files = {}

    def encode_text(self, items):
        return self.texts[[self.captions.index(t) for t in items]]

    def encode_image(self, items):
        return self.images[[self.paths.index(p) for p in items]]


def test_evaluate_with_chosen_embeddings(tmp_path):
    """Embeddings built so that every rank is known: images are the basis vectors e0..e3, caption
    i is the normalised row i of HAND, so its cosine with image j is HAND[i, j] / |HAND[i]|."""
    data = [{"image": f"{i}.png", "caption": f"caption {i}"} for i in range(4)]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    dataset = load_dataset(path)
    texts = (HAND / np.linalg.norm(HAND, axis=1, keepdims=True)).astype(np.float32)
    fake = FakeModel(texts, np.eye(4, dtype=np.float32))
    fake.captions, fake.paths = dataset.captions, dataset.images
    args = argparse.Namespace(k=[1, 2, 5], rerank=None, batch_size=2, progress=False, quiet=True, model="fake",
                              images_root=None, threads=0, long_text="truncate", candidates=3, weight=[0.5])
    cache = evaluate.Cache(None, {"dataset": {"sha256": "x"}})
    report = evaluate.evaluate(fake, dataset, args, cache)
    # Text -> image, by hand above (row scaling does not change a row's order): ranks 0, 2, 2, 2.
    assert report["metrics"]["global"]["text_to_image"] == {"R@1": 25.0, "R@2": 25.0, "R@5": 100.0}
    # Image -> text: column j of texts @ images.T, i.e. HAND[:, j] / |HAND[i]|.
    cos = texts @ np.eye(4)
    expected = [list(np.argsort(-cos[:, j], kind="stable")).index(j) for j in range(4)]
    assert report["metrics"]["global"]["image_to_text"] == recalls(np.array(expected), [1, 2, 5])
    assert report["k_clipped"] == {"text_to_image": {"R@5": 4}, "image_to_text": {"R@5": 4}}
    assert report["counts"]["captions"] == 4 and report["counts"]["images"] == 4


# ---- datasets -----------------------------------------------------------------------------------

def test_load_json_list_and_jsonl_alike(tmp_path):
    records = [{"image": "a.jpg", "caption": "A cat."}, {"file_name": "sub/b.png", "text": "A dog."},
               {"image_path": "/abs/c.jpg", "description": "A bird."}]
    (tmp_path / "list.json").write_text(json.dumps(records, indent=2))
    (tmp_path / "lines.jsonl").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(json.dumps(r) for r in records).encode()
                                           + b"\r\n\n")
    (tmp_path / "wrapped.json").write_text(json.dumps({"name": "x", "annotations": records}))
    for name in ("list.json", "lines.jsonl", "wrapped.json"):
        d = load_dataset(tmp_path / name)
        assert d.captions == ["A cat.", "A dog.", "A bird."], name
        assert d.images == [str(tmp_path / "a.jpg"), str(tmp_path / "sub" / "b.png"), "/abs/c.jpg"], name
        assert d.caption_image.tolist() == [0, 1, 2] and d.image_captions == [[0], [1], [2]]


def test_a_one_line_jsonl_file_is_not_taken_for_a_json_object(tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"image": "a.jpg", "caption": "A cat."}) + "\n")
    assert load_dataset(path).captions == ["A cat."]


def test_images_root_and_shared_images(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"image": "a.jpg", "caption": "one"}, {"image": "b.jpg", "caption": ["two", "three"]},
        {"image": "./a.jpg", "caption": "four"}]))
    d = load_dataset(path, images_root="/data")
    assert d.images == ["/data/a.jpg", "/data/b.jpg"]
    assert d.captions == ["one", "two", "three", "four"]
    assert d.caption_image.tolist() == [0, 1, 1, 0]
    assert d.image_captions == [[0, 3], [1, 2]]


@pytest.mark.parametrize("text, message", [
    ('[{"image": "a.jpg"}]', "entry 1: no caption"),
    ('[{"image": "a.jpg", "caption": "x"}, {"caption": "y"}]', "entry 2: no image path"),
    ('{"image": "a.jpg", "caption": "x"}\n{"image": "b.jpg", "caption": " "}\n', "line 2: an empty caption"),
    ('{"image": "a.jpg", "caption": "x"}\n{oops\n', "line 2: not JSON"),
    ('[{"image": "a.jpg", "caption": "x"},', "not JSON"),
    ('[1]', "entry 1: not a JSON object"),
    ('[]', "no entries"),
    ('{"image": "a.jpg", "caption": 3}', "line 1: no caption"),
])
def test_dataset_errors_name_the_entry(tmp_path, text, message):
    path = tmp_path / "d.json"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


# ---- local scores match the library's -----------------------------------------------------------

def test_late_scores_are_the_librarys_late_interaction(model):
    for image in ("astronaut_wide.jpg", "coffee_tall_444.jpg"):
        path = str(IMAGES / image)
        expected = model.local_similarity(CAPTION, path)
        got = late_scores(retrieval.text_token_features(model, CAPTION), retrieval.image_patch_features(model, path))
        assert got.shape == (1,) and got[0] == pytest.approx(expected, abs=1e-5)


def test_lism_scores_are_the_librarys_lism(model):
    for image in ("astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png"):
        path = str(IMAGES / image)
        result = model.lism(path, CAPTION)
        assert [r.box for r in result.regions] == retrieval.spatial_regions(*retrieval.image_size(model, path))
        expected = float(np.mean(result.scores.max(axis=1))) / 100
        got = lism_scores(retrieval.sentence_features(model, CAPTION), retrieval.region_features(model, path))
        assert got[0] == pytest.approx(expected, abs=1e-5)


# ---- rerank -------------------------------------------------------------------------------------

CANDIDATES = [str(IMAGES / n) for n in ("astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png",
                                        "chelsea_422.jpg", "rocket_progressive.jpg")]


@pytest.mark.parametrize("method", ["late", "lism"])
def test_rerank_changes_an_order_and_weight_0_keeps_it(model, method):
    if method == "late":
        local = np.array([model.local_similarity(CAPTION, c) for c in CANDIDATES])
    else:
        local = np.array([np.mean(model.lism(c, CAPTION).scores.max(axis=1)) / 100 for c in CANDIDATES])
    # Global scores in the search's order (best first) but almost equal, and the local scores'
    # order the other way round: the reversal is in the constructed case.
    by_local = np.argsort(-local, kind="stable")
    candidates = [CANDIDATES[i] for i in by_local[::-1]]
    expected_local = local[by_local[::-1]]
    global_scores = np.array([0.5, 0.4999, 0.4998, 0.4997, 0.4996])

    kept = rerank(model, CAPTION, candidates, global_scores, method=method, weight=0.0, ids=[10, 11, 12, 13, 14])
    assert kept.order.tolist() == [0, 1, 2, 3, 4]
    assert kept.ids.tolist() == [10, 11, 12, 13, 14]
    assert np.array_equal(kept.final, global_scores)

    changed = rerank(model, CAPTION, candidates, global_scores, method=method, weight=0.5, ids=[10, 11, 12, 13, 14])
    assert changed.order.tolist() == [4, 3, 2, 1, 0]
    assert changed.ids.tolist() == [14, 13, 12, 11, 10]
    assert changed.ranked(candidates) == candidates[::-1]
    assert np.allclose(changed.local_scores, expected_local, atol=1e-5)
    assert np.allclose(changed.final, 0.5 * global_scores + 0.5 * changed.local_scores, atol=1e-12)
    assert np.array_equal(changed.scores, changed.final[changed.order])


def test_rerank_image_to_text_and_default_global_scores(model):
    texts = [CAPTION, "An astronaut on a horse. A flag.", "A cup of coffee with steam."]
    image = CANDIDATES[0]
    result = rerank(model, image, texts, method="late", weight=1.0, direction="image_to_text")
    expected_local = np.array([model.local_similarity(t, image) for t in texts])
    assert np.allclose(result.local_scores, expected_local, atol=1e-5)
    assert result.order.tolist() == np.argsort(-result.local_scores, kind="stable").tolist()
    expected_global = model.encode_text(texts).astype(np.float64) @ model.encode_image([image])[0]
    assert np.allclose(result.global_scores, expected_global, atol=1e-6)


def test_rerank_refuses_bad_arguments(model):
    with pytest.raises(goal.InvalidArgumentError, match="method"):
        rerank(model, CAPTION, CANDIDATES[:1], [0.1], method="filip")
    with pytest.raises(goal.InvalidArgumentError, match="weight"):
        rerank(model, CAPTION, CANDIDATES[:1], [0.1], weight=1.5)
    with pytest.raises(goal.InvalidArgumentError, match="2 global scores for 1 candidates"):
        rerank(model, CAPTION, CANDIDATES[:1], [0.1, 0.2])
    with pytest.raises(goal.InvalidArgumentError, match="direction"):
        rerank(model, CAPTION, CANDIDATES[:1], [0.1], direction="sideways")
    assert rerank(model, CAPTION, [], []).order.tolist() == []
