"""goal.Index against NumPy brute force, its files (read back here independently, as
docs/INDEX_FORMAT.md describes them), and every status its functions return.

Tolerance: scores are the cosines of the float32-normalised vectors computed in double precision
and rounded to float32, so they are within 1e-6 of NumPy's float64 cosines of the caller's
vectors; ids must agree wherever neighbouring reference scores are more than 1e-6 apart."""

import ctypes
import struct
import threading
import zlib

import numpy as np
import pytest

import goal
from goal import _capi

TOL = 1e-6


def brute_force(data, ids, queries):
    """float64 cosines, and per query the ids ranked by (score descending, id ascending)."""
    d = data.astype(np.float64)
    q = np.atleast_2d(queries).astype(np.float64)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    scores = q @ d.T
    order = np.lexsort((np.broadcast_to(ids, scores.shape), -scores), axis=1)
    return np.take_along_axis(scores, order, axis=1), np.asarray(ids)[order]


def assert_matches(scores, ids, data, data_ids, queries, k):
    ref_scores, ref_ids = brute_force(data, data_ids, queries)
    found = min(k, len(data_ids))
    assert scores.shape == ids.shape == (len(np.atleast_2d(queries)), found)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    np.testing.assert_allclose(scores, ref_scores[:, :found], rtol=0, atol=TOL)
    padded = np.concatenate([np.full((len(ref_scores), 1), np.inf), ref_scores, np.full((len(ref_scores), 1), -np.inf)], 1)
    separated = (padded[:, :found] - padded[:, 1:found + 1] > TOL) & (padded[:, 1:found + 1] - padded[:, 2:found + 2] > TOL)
    assert separated.mean() > 0.5  # the comparison below means something
    np.testing.assert_array_equal(ids[separated], ref_ids[:, :found][separated])
    # Whatever the order among near-ties, each id's reported score is its own.
    lookup = {int(i): row for row, i in enumerate(data_ids)}
    for q in range(len(ids)):
        for s, i in zip(scores[q], ids[q]):
            d = data[lookup[int(i)]].astype(np.float64)
            v = np.atleast_2d(queries)[q].astype(np.float64)
            assert abs(s - d @ v / np.linalg.norm(d) / np.linalg.norm(v)) < TOL


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def test_search_matches_numpy(rng):
    data = rng.standard_normal((3000, 64)).astype(np.float32)
    queries = rng.standard_normal((25, 64)).astype(np.float32)
    with goal.Index(64) as index:
        ids = index.add(data)
        np.testing.assert_array_equal(ids, np.arange(3000))
        assert len(index) == index.ntotal == 3000 and index.dim == 64
        for k in (1, 10, 250):
            scores, found = index.search(queries, k)
            assert_matches(scores, found, data, ids, queries, k)
        # One query, 1-D: a row of its own, exactly the batch's row.
        scores, found = index.search(queries, 10)
        one_scores, one_ids = index.search(queries[7], 10)
        assert one_scores.shape == (1, 10)
        np.testing.assert_array_equal(one_scores[0], scores[7])
        np.testing.assert_array_equal(one_ids[0], found[7])


def test_inputs_of_other_types_are_converted(rng):
    data = rng.standard_normal((200, 12))  # float64
    fortran = np.asfortranarray(data)
    strided = np.repeat(data, 2, axis=0)[::2]
    with goal.Index(12) as a, goal.Index(12) as b, goal.Index(12) as c:
        a.add(data.astype(np.float32))
        b.add(fortran)
        c.add(strided, ids=list(range(200)))
        q = rng.standard_normal((3, 12))
        results = [x.search(q.tolist(), 5) for x in (a, b, c)]
        for scores, ids in results[1:]:
            np.testing.assert_array_equal(scores, results[0][0])
            np.testing.assert_array_equal(ids, results[0][1])
        assert results[0][0].flags.c_contiguous and results[0][1].flags.c_contiguous


def test_ids_given_removed_and_never_returned(rng):
    data = rng.standard_normal((800, 20)).astype(np.float32)
    data_ids = rng.permutation(10_000)[:800].astype(np.int64)
    with goal.Index(20) as index:
        np.testing.assert_array_equal(index.add(data, ids=data_ids), data_ids)
        gone = data_ids[::3]
        index.remove(gone)
        assert len(index) == 800 - len(gone)
        queries = data[:40]  # each query is a stored vector, a third of them removed
        scores, ids = index.search(queries, 800)
        assert ids.shape == (40, len(index))
        assert not np.isin(ids, gone).any()
        keep = ~np.isin(data_ids, gone)
        assert_matches(scores, ids, data[keep], data_ids[keep], queries, 800)
        # Ids given out next come after the largest ever held.
        assert index.add(data[0])[0] == data_ids.max() + 1


def test_ties_lower_id_first(rng):
    direction = rng.standard_normal(16).astype(np.float32)
    data = rng.standard_normal((5000, 16)).astype(np.float32)
    rows = rng.choice(5000, size=500, replace=False)
    data[rows] = direction * np.float32(2.0) ** rng.integers(-3, 4, size=(500, 1)).astype(np.float32)
    data_ids = rng.permutation(5000).astype(np.int64) * 3
    with goal.Index(16) as index:
        index.add(data, ids=data_ids)
        scores, ids = index.search(np.stack([direction, -direction]), 20)
    np.testing.assert_array_equal(ids[0], np.sort(data_ids[rows])[:20])
    assert len(set(scores[0].tolist())) == 1
    assert abs(scores[0, 0] - 1) < TOL


def test_k_beyond_count_zero_and_empty():
    with goal.Index(3) as index:
        scores, ids = index.search([1, 0, 0], 5)
        assert scores.shape == ids.shape == (1, 0)
        index.add(np.eye(3), ids=[30, 10, 20])
        scores, ids = index.search([[1, 1, 1], [0, 0, 1]], 10)
        assert ids.tolist() == [[10, 20, 30], [20, 10, 30]]
        np.testing.assert_allclose(scores[0], 1 / np.sqrt(3), atol=TOL)
        assert index.search([1, 0, 0], 0)[0].shape == (1, 0)
        assert index.search(np.zeros((0, 3)), 2)[1].shape == (0, 2)


def test_padding_through_the_c_layer():
    with goal.Index(2) as index:
        index.add([[1, 0], [0, 1]])
        scores = np.zeros(4, np.float32)
        ids = np.zeros(4, np.int64)
        found = ctypes.c_size_t()
        q = np.array([1, 0], np.float32)
        _capi.goal_index_search(index._handle, q.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 1, 2, 4,
                                scores.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), 4, ctypes.byref(found))
        assert found.value == 2
        assert ids.tolist() == [0, 1, -1, -1]
        assert scores[:2].tolist() == [1.0, 0.0] and np.isneginf(scores[2:]).all()
        with pytest.raises(goal.BufferTooSmallError, match="need 4 entries"):
            _capi.goal_index_search(index._handle, q.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 1, 2, 4,
                                    scores.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                    ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), 3, ctypes.byref(found))
        assert found.value == 0


# ---- files -------------------------------------------------------------------------------------

def read_index_file(path):
    """An independent reader of the format in docs/INDEX_FORMAT.md."""
    raw = path.read_bytes()
    magic, version, header, flags, dim, count, next_id, ids_at, vectors_at, crc, reserved = \
        struct.unpack_from("<8sIIIIQqQQII", raw, 0)
    assert magic == b"GOALINDX" and version == 1 and header == 64 and flags == 1 and reserved == 0
    assert ids_at == 64 and vectors_at == (64 + 8 * count + 63) // 64 * 64
    assert len(raw) == vectors_at + 4 * dim * count
    assert crc == zlib.crc32(raw[:56] + bytes(4) + raw[60:])
    assert raw[64 + 8 * count:vectors_at] == bytes(vectors_at - 64 - 8 * count)
    ids = np.frombuffer(raw, "<i8", count, ids_at)
    vectors = np.frombuffer(raw, "<f4", count * dim, vectors_at).reshape(count, dim)
    return dim, next_id, ids, vectors


def test_save_load_round_trip(tmp_path, rng):
    data = rng.standard_normal((500, 24)).astype(np.float32)
    queries = rng.standard_normal((9, 24)).astype(np.float32)
    path = tmp_path / "a.goalindex"
    with goal.Index(24) as index:
        ids = index.add(data, ids=np.arange(500) * 2 + 1)
        index.remove([3, 5, 999])
        index.save(path)
        expected = index.search(queries, 30)
    with goal.Index.load(path) as loaded:
        assert len(loaded) == 497 and loaded.dim == 24
        got = loaded.search(queries, 30)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        loaded.save(tmp_path / "b.goalindex")
        # The next free id survives the round trip.
        assert loaded.add(data[0])[0] == 1000
    assert (tmp_path / "b.goalindex").read_bytes() == path.read_bytes()
    dim, next_id, file_ids, vectors = read_index_file(path)
    keep = ~np.isin(ids, [3, 5, 999])
    assert dim == 24 and next_id == 1000
    np.testing.assert_array_equal(file_ids, ids[keep])
    np.testing.assert_allclose(vectors, data[keep] / np.linalg.norm(data[keep], axis=1, keepdims=True), atol=1e-7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.goalindex", "b.goalindex"]  # no temporary left


def test_save_over_the_file_a_loaded_index_maps(tmp_path, rng):
    data = rng.standard_normal((100, 8)).astype(np.float32)
    path = tmp_path / "x.goalindex"
    with goal.Index(8) as index:
        index.add(data)
        index.save(path)
    loaded = goal.Index.load(path)
    before = loaded.search(data[:3], 5)
    loaded.remove([0])
    loaded.save(path)  # renamed over the mapped file
    after = loaded.search(data[:3], 5)
    np.testing.assert_array_equal(after[1][1:], before[1][1:])
    assert len(goal.Index.load(path)) == 99
    loaded.close()


@pytest.fixture
def saved(tmp_path, rng):
    path = tmp_path / "good.goalindex"
    with goal.Index(6) as index:
        index.add(rng.standard_normal((50, 6)))
        index.save(path)
    return path


def damaged(saved, change):
    data = bytearray(saved.read_bytes())
    changed = change(data)
    data = data if changed is None else changed
    path = saved.with_name("bad.goalindex")
    path.write_bytes(bytes(data))
    return path


def resum(data):
    data[56:60] = struct.pack("<I", zlib.crc32(bytes(data[:56]) + bytes(4) + bytes(data[60:])))


def flip(at):
    def change(data):
        data[at] ^= 0x20
    return change


@pytest.mark.parametrize("at", [-1, -100, 64, 70, 1000])
def test_flipped_byte_in_payload_is_corrupt(saved, at):
    with pytest.raises(goal.CorruptFileError, match="checksum") as caught:
        goal.Index.load(damaged(saved, flip(at)))
    assert caught.value.status == _capi.GOAL_ERR_CORRUPT
    assert "bad.goalindex" in caught.value.message


def test_truncated_file(saved):
    size = saved.stat().st_size
    for keep in (size - 1, size - 200, 100, 64, 63, 10, 0):
        with pytest.raises(goal.TruncatedModelError, match="truncated") as caught:
            goal.Index.load(damaged(saved, lambda d: d[:keep]))
        assert caught.value.status == _capi.GOAL_ERR_TRUNCATED


def test_wrong_magic(saved):
    with pytest.raises(goal.CorruptFileError, match='not a goal index file.*"GOALIDXX"'):
        goal.Index.load(damaged(saved, lambda d: d.__setitem__(slice(0, 8), b"GOALIDXX")))
    with pytest.raises(goal.CorruptFileError, match="not a goal index file"):
        goal.Index.load(damaged(saved, lambda d: b"\x89PNG\r\n\x1a\n" + bytes(d[8:])))


def test_wrong_version(saved):
    with pytest.raises(goal.UnsupportedError, match="version 2 is newer") as caught:
        goal.Index.load(damaged(saved, lambda d: d.__setitem__(8, 2)))
    assert caught.value.status == _capi.GOAL_ERR_UNSUPPORTED

    def version_zero(d):
        d[8] = 0
        resum(d)
    with pytest.raises(goal.CorruptFileError, match="version 0"):
        goal.Index.load(damaged(saved, version_zero))


def test_inconsistent_header_and_contents(saved):
    def changed(offset, fmt, value):
        def change(d):
            struct.pack_into(fmt, d, offset, value)
            resum(d)
        return damaged(saved, change)
    cases = [
        ((12, "<I", 128), "header gives its size as 128"),
        ((20, "<I", 0), "dimension of 0"),
        ((24, "<Q", 2**62), "more than any file holds"),
        ((24, "<Q", 57), "puts the vectors at byte 512; after 57 ids they start at 576"),
        ((32, "<q", -4), "next id of -4"),
        ((32, "<q", 10), "outside 0 to 9"),
        ((40, "<Q", 128), "puts the ids at byte 128"),
        ((64 + 8, "<q", 0), "id 0 appears twice"),
        ((512, "<f", float("inf")), "vector 0 holds inf at position 0"),
        ((512 + 24 * 3, "<f", 2.0), "vector 3 has length"),
    ]
    for change, message in cases:
        with pytest.raises(goal.CorruptFileError, match=message):
            goal.Index.load(changed(*change))
    def longer(d):
        d += bytes(8)
        resum(d)
    with pytest.raises(goal.CorruptFileError, match="8 bytes too many"):
        goal.Index.load(damaged(saved, longer))
    with pytest.raises(goal.UnsupportedError, match="flags 0x3"):
        goal.Index.load(changed(16, "<I", 3))
    with pytest.raises(goal.UnsupportedError, match="not marked as L2-normalised"):
        goal.Index.load(changed(16, "<I", 0))


def test_missing_and_unreadable(tmp_path, saved):
    with pytest.raises(goal.ModelNotFoundError, match="absent.goalindex") as caught:
        goal.Index.load(tmp_path / "absent.goalindex")
    assert caught.value.status == _capi.GOAL_ERR_NOT_FOUND
    with pytest.raises(goal.ReadError, match="folder") as caught:
        goal.Index.load(tmp_path)
    assert caught.value.status == _capi.GOAL_ERR_IO
    with goal.Index(2) as index:
        with pytest.raises(goal.ReadError, match="cannot write the index"):
            index.save(tmp_path / "missing" / "x.goalindex")
        with pytest.raises(goal.ReadError):
            index.save(tmp_path)
    assert goal.Index.load(saved).dim == 6  # still good


# ---- refusals ----------------------------------------------------------------------------------

def test_bad_vectors_and_ids_add_nothing():
    with goal.Index(3) as index:
        index.add([1, 2, 3], ids=[10])
        refusals = [
            (([1, np.nan, 3],), "vector 0 has a NaN at position 1"),
            (([[1, 2, 3], [1, np.inf, 3]],), "vector 1 has an infinite value"),
            (([[1, 2, 3], [0, 0, 0]],), "vector 1 is all zeros"),
            (([1, 2, 3, 4],), "vectors of 4 floats, but the index holds vectors of 3"),
            (([[1, 2, 3], [4, 5, 6]], [20, 20]), "id 20 is given twice"),
            (([1, 2, 3], [10]), "id 10 is already in the index"),
            (([1, 2, 3], [-1]), "id -1"),
            (([1, 2, 3], [np.iinfo(np.int64).max]), "out of range"),
            (([[1, 2, 3], [4, 5, 6]], [1]), "1 ids for 2 vectors"),
            (([1, 2, 3], [1.5]), "ids must be integers"),
            ((np.ones((2, 2, 3)),), "must be \\(n, dim\\)"),
            ((["a", "b", "c"],), "must be numbers"),
        ]
        for args, message in refusals:
            with pytest.raises(goal.InvalidArgumentError, match=message) as caught:
                index.add(*args)
            assert caught.value.status == _capi.GOAL_ERR_INVALID_ARGUMENT
        assert len(index) == 1
        assert index.add([1, 1, 1]).tolist() == [11]


def test_removing_unknown_ids_removes_nothing():
    with goal.Index(2) as index:
        index.add(np.eye(2))
        with pytest.raises(goal.InvalidArgumentError, match="2 ids are not in the index: 5, 6; nothing was removed"):
            index.remove([0, 5, 6, 5])
        assert len(index) == 2
        index.remove([])
        index.remove(np.array([1, 1], np.uint8))
        assert len(index) == 1


def test_bad_queries_dims_and_k():
    with pytest.raises(goal.InvalidArgumentError, match="dimension of 0"):
        goal.Index(0)
    with pytest.raises(goal.InvalidArgumentError):
        goal.Index(_capi.GOAL_INDEX_MAX_DIM + 1)
    with pytest.raises(goal.InvalidArgumentError):
        goal.Index(-3)
    with pytest.raises(goal.InvalidArgumentError):
        goal.Index(2.5)
    with goal.Index(2) as index:
        index.add([1, 0])
        for queries, message in [([np.nan, 1], "query 0 has a NaN"), ([[1, 0], [0, 0]], "query 1 is all zeros"),
                                 ([1, 0, 0], "queries of 3 floats")]:
            with pytest.raises(goal.InvalidArgumentError, match=message):
                index.search(queries, 1)
        for k in (-1, 1.0, True, None):
            with pytest.raises(goal.InvalidArgumentError):
                index.search([1, 0], k)
    index.close()
    index.close()
    with pytest.raises(goal.GoalError, match="closed"):
        len(index)


def test_null_pointers_through_the_c_layer():
    one = (ctypes.c_float * 3)(1, 0, 0)
    out = ctypes.c_void_p()
    size = ctypes.c_size_t(7)
    with pytest.raises(goal.InvalidArgumentError, match="out_index is NULL"):
        _capi.goal_index_new(3, None)
    with pytest.raises(goal.InvalidArgumentError, match="index is NULL"):
        _capi.goal_index_count(None, ctypes.byref(size))
    assert size.value == 0  # cleared
    with pytest.raises(goal.InvalidArgumentError, match="index is NULL"):
        _capi.goal_index_dim(None, ctypes.byref(size))
    with pytest.raises(goal.InvalidArgumentError, match="index is NULL"):
        _capi.goal_index_add(None, one, 1, 3, None, None)
    with pytest.raises(goal.InvalidArgumentError, match="index is NULL"):
        _capi.goal_index_remove(None, None, 0)
    with pytest.raises(goal.InvalidArgumentError, match="index is NULL"):
        _capi.goal_index_search(None, one, 1, 3, 1, None, None, 1, None)
    with pytest.raises(goal.InvalidArgumentError, match="index is NULL"):
        _capi.goal_index_save(None, b"x")
    with pytest.raises(goal.InvalidArgumentError, match="path is NULL"):
        _capi.goal_index_load(None, ctypes.byref(out))
    with pytest.raises(goal.InvalidArgumentError, match="out_index is NULL"):
        _capi.goal_index_load(b"x.goalindex", None)
    _capi.goal_index_free(None)
    _capi.goal_index_new(3, ctypes.byref(out))
    try:
        with pytest.raises(goal.InvalidArgumentError, match="vectors is NULL"):
            _capi.goal_index_add(out, None, 1, 3, None, None)
        with pytest.raises(goal.InvalidArgumentError, match="ids is NULL"):
            _capi.goal_index_remove(out, None, 2)
        with pytest.raises(goal.InvalidArgumentError, match="queries is NULL"):
            _capi.goal_index_search(out, None, 1, 3, 1, None, None, 1, None)
        with pytest.raises(goal.InvalidArgumentError, match="out_count is NULL"):
            _capi.goal_index_count(out, None)
        with pytest.raises(goal.InvalidArgumentError, match="out_dim is NULL"):
            _capi.goal_index_dim(out, None)
        with pytest.raises(goal.InvalidArgumentError, match="path is NULL"):
            _capi.goal_index_save(out, None)
        with pytest.raises(goal.InvalidArgumentError, match=r"a count of \d+ vectors"):
            _capi.goal_index_add(out, one, ctypes.c_size_t(-1).value, 3, None, None)
        with pytest.raises(goal.InvalidArgumentError, match="do not fit"):
            _capi.goal_index_search(out, one, 3, 3, 2**63 - 1, None, None, ctypes.c_size_t(-1).value, None)
        with pytest.raises(goal.InvalidArgumentError, match="path is empty"):
            _capi.goal_index_save(out, b"")
        with pytest.raises(goal.InvalidArgumentError, match="UTF-8"):
            _capi.goal_index_save(out, b"\xff.goalindex")
    finally:
        _capi.goal_index_free(out)
    # Freed now: reported, not used; freeing again is ignored.
    with pytest.raises(goal.InvalidArgumentError, match="index is not a live index handle"):
        _capi.goal_index_count(out, ctypes.byref(size))
    _capi.goal_index_free(out)


# ---- threads -----------------------------------------------------------------------------------

def test_searches_alongside_adds_and_removes(rng):
    data = rng.standard_normal((3000, 32)).astype(np.float32)
    queries = rng.standard_normal((4, 32)).astype(np.float32)
    index = goal.Index(32)
    index.add(data[:1000])
    errors = []

    def search():
        try:
            for _ in range(100):
                scores, ids = index.search(queries, 10)
                assert scores.shape == (4, 10) and (np.diff(scores, axis=1) <= 0).all()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    for start in range(1000, 3000, 100):
        ids = index.add(data[start:start + 100])
        index.remove(ids[::2])
    for t in threads:
        t.join()
    assert not errors
    assert len(index) == 2000
    index.close()
