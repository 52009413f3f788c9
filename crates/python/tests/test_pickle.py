"""Objects of other types: refused without allow_pickle, pickled with it, and unpickled only
after the payload's signature is checked."""

from __future__ import annotations

import os
import pathlib

import pytest

import cacheness

UNPICKLED: list[str] = []


class Model:
    """A user object: pickled, it notes every unpickling."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights

    def __setstate__(self, state: dict) -> None:
        UNPICKLED.append("model")
        self.__dict__.update(state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other.weights == self.weights


def test_without_allow_pickle_an_object_is_a_type_error_naming_it_and_the_option(cache):
    with pytest.raises(TypeError, match=r"Model.*allow_pickle=True"):
        cache.put(Model([1.0]), m=1)
    with pytest.raises(TypeError, match=r"Model.*allow_pickle=True"):
        cache.put({"model": Model([1.0])}, m=1)
    assert cache.list_entries() == []


def test_with_allow_pickle_objects_round_trip_anywhere_in_a_value(tmp_path):
    with cacheness.Cache(tmp_path / "c", allow_pickle=True) as cache:
        cache.put(Model([1.0, 2.0]), m=1)
        assert cache.get(m=1) == Model([1.0, 2.0])
        cache.put({"model": Model([3.0]), "score": 0.5}, m=2)
        assert cache.get(m=2) == {"model": Model([3.0]), "score": 0.5}
        cache.put({1, 2}, m=3)
        assert cache.get(m=3) == {1, 2}


def test_a_cache_without_allow_pickle_refuses_to_unpickle(tmp_path):
    with cacheness.Cache(tmp_path / "c", allow_pickle=True) as cache:
        cache.put(Model([1.0]), m=1)
    UNPICKLED.clear()
    with cacheness.Cache(tmp_path / "c") as cache:
        with pytest.raises(cacheness.CacheError, match="allow_pickle=True"):
            cache.get(m=1)
    assert UNPICKLED == []


def test_a_tampered_pickle_is_never_unpickled(tmp_path):
    # Large enough to be a payload file of its own (small ones are records of the store).
    model = Model(os.urandom(200_000))
    with cacheness.Cache(tmp_path / "c", allow_pickle=True) as cache:
        key = cache.put(model, m=1)
    files = [p for p in pathlib.Path(tmp_path / "c").rglob(f"{key}*") if p.is_file()]
    assert len(files) == 1, files
    data = bytearray(files[0].read_bytes())
    # A byte in the middle of the pickled weights, past every header.
    data[len(data) // 2] ^= 0x01
    files[0].write_bytes(bytes(data))
    UNPICKLED.clear()
    with cacheness.Cache(tmp_path / "c", allow_pickle=True) as cache:
        assert cache.get(m=1) is None, "a damaged entry is a miss"
        assert not cache.exists(m=1), "and it is removed"
    assert UNPICKLED == [], "the tampered pickle never reached pickle.loads"
