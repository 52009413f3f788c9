"""``@cached``: keys bound to the signature, None as a hit, cache_if, methods, async, the
counters, cache_clear, and one computation across threads and processes."""

from __future__ import annotations

import _thread
import asyncio
import datetime
import multiprocessing
import pathlib
import threading
import time

import pytest

import cacheness


def test_positional_keyword_and_default_arguments_are_one_entry(cache):
    calls = []

    @cacheness.cached(cache=cache)
    def add(a, b=2):
        calls.append((a, b))
        return a + b

    assert add(1, 2) == 3
    assert add(a=1, b=2) == 3
    assert add(1) == 3
    assert calls == [(1, 2)]
    assert add.cache_info() == cacheness.CacheInfo(hits=2, misses=1, errors=0)
    assert add(2) == 4
    assert len(calls) == 2

    # All arguments by position (keyed without binding) or by name: one entry, one key.
    @cacheness.cached(cache=cache)
    def seeded(_seed, x=1):
        return _seed * x

    assert seeded(3, 2) == seeded(_seed=3, x=2) == seeded(3, x=2) == 6
    assert seeded.cache_info().misses == 1
    assert seeded.cache_key(3, 2) == seeded.cache_key(_seed=3, x=2)


def test_keys_are_rust_function_keys_and_list_like_rust(cache):
    @cacheness.cached(cache=cache, name="my_crate::add", version=2)
    def add(a, b):
        return a + b

    add(1, 2)
    (entry,) = cache.list_entries()
    assert entry["params"] == {"_fn": "my_crate::add", "_version": 2, "a": 1, "b": 2}
    assert entry["cache_key"] == add.cache_key(1, 2)


def test_none_is_stored_and_hits(cache):
    calls = []

    @cacheness.cached(cache=cache)
    def nothing(x):
        calls.append(x)

    assert nothing(1) is None
    assert nothing(1) is None
    assert calls == [1]


def test_ignore_version_ttl_and_cache_if(cache):
    calls = []

    @cacheness.cached(cache=cache, ignore=["verbose"], cache_if=lambda v: v >= 0)
    def f(x, verbose=False):
        calls.append(x)
        return x

    f(1, verbose=True)
    f(1, verbose=False)
    assert calls == [1]
    f(-1)
    f(-1)
    assert calls == [1, -1, -1], "a refused value is computed again"

    @cacheness.cached(cache=cache, version=1, name="g")
    def g1(x):
        return "one"

    @cacheness.cached(cache=cache, version=2, name="g")
    def g2(x):
        return "two"

    assert g1(0) == "one" and g2(0) == "two" and g1(0) == "one"
    with pytest.raises(TypeError, match="ignore names no argument"):
        cacheness.cached(ignore=["nope"])(lambda x: x)


def test_a_bad_argument_name_is_refused_at_decoration():
    with pytest.raises(TypeError, match="'Big'.*ignore="):
        @cacheness.cached
        def f(Big):
            return Big


def test_methods_key_by_arguments_or_by_the_receiver_s_own_key(cache):
    class Model:
        calls = 0

        @cacheness.cached(cache=cache)
        def predict(self, x):
            Model.calls += 1
            return x * 2

    assert Model().predict(2) == 4 and Model().predict(2) == 4
    assert Model.calls == 1, "self is not part of the key"

    class Keyed:
        calls = 0

        def __init__(self, seed):
            self.seed = seed

        def __cacheness_key__(self):
            return self.seed

        @cacheness.cached(cache=cache)
        def predict(self, x):
            Keyed.calls += 1
            return x + self.seed

    assert Keyed(1).predict(1) == 2 and Keyed(2).predict(1) == 3 and Keyed(1).predict(1) == 2
    assert Keyed.calls == 2


def test_async_functions_compute_once_per_key(cache):
    calls = []

    @cacheness.cached(cache=cache)
    async def fetch(x):
        calls.append(x)
        await asyncio.sleep(0.05)
        return {"x": x}

    async def main():
        return await asyncio.gather(*(fetch(1) for _ in range(5)), fetch(2))

    results = asyncio.run(main())
    assert results == [{"x": 1}] * 5 + [{"x": 2}]
    assert sorted(calls) == [1, 2]
    assert asyncio.run(fetch(1)) == {"x": 1}
    assert fetch.cache_info().misses == 2


def test_cache_clear_removes_every_result_of_the_function_only(cache):
    @cacheness.cached(cache=cache)
    def f(x):
        return x

    @cacheness.cached(cache=cache)
    def g(x):
        return x

    for i in range(3):
        f(i)
    g(0)
    assert f.cache_clear() == 3
    assert len(cache.list_entries()) == 1


def test_eight_threads_compute_once(cache):
    calls = []
    start = threading.Barrier(8)

    @cacheness.cached(cache=cache)
    def slow(x):
        calls.append(x)
        time.sleep(0.2)
        return x * 10

    results = []

    def run():
        start.wait()
        results.append(slow(7))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [70] * 8
    assert calls == [7]


def _compute_in_process(root: str, marks: str, barrier) -> int:
    cache = cacheness.Cache(root)

    @cacheness.cached(cache=cache, name="tests::slow")
    def slow(x):
        with open(marks, "a") as f:
            f.write("computed\n")
        time.sleep(0.3)
        return x + 1

    barrier.wait()
    value = slow(41)
    cache.close()
    return value


def test_four_processes_compute_once(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    marks = tmp_path / "marks.txt"
    root = tmp_path / "cache"
    cacheness.Cache(root).close()
    barrier = ctx.Manager().Barrier(4)
    with ctx.Pool(4) as pool:
        results = pool.starmap(_compute_in_process, [(str(root), str(marks), barrier)] * 4)
    assert results == [42] * 4
    assert marks.read_text().count("computed") == 1


def test_ctrl_c_interrupts_a_wait_for_a_key_lock(cache):
    key = cacheness.key(x=1)
    held = cache._native.lock_key(key)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        cache._native.lock_key(key)
    assert time.monotonic() - began < 5
    held.release()
    cache._native.lock_key(key).release()


def test_a_failing_cache_runs_the_function_uncached_and_warns(tmp_path):
    cache = cacheness.Cache(tmp_path / "c")
    cache.close()

    @cacheness.cached(cache=cache)
    def f(x):
        return x + 1

    with pytest.warns(RuntimeWarning, match="running uncached"):
        assert f(1) == 2
    assert f.cache_info().errors == 1


def test_the_default_cache_is_cachness_dir(tmp_path, monkeypatch):
    import cacheness._cached as module

    monkeypatch.setenv("CACHENESS_DIR", str(tmp_path / "default"))
    monkeypatch.setattr(module, "_default", None)

    @cacheness.cached
    def f(x):
        return [x]

    assert f(3) == [3]
    module._default.close()
    monkeypatch.setattr(module, "_default", None)
    assert pathlib.Path(tmp_path / "default").is_dir()
    with cacheness.Cache(tmp_path / "default") as c:
        assert len(c.list_entries()) == 1


def test_the_ancestor_s_decorator_names_work(cache):
    @cacheness.cached(cache_instance=cache, ttl_hours=2)
    def f(x):
        return x

    f(1)
    (entry,) = cache.list_entries()
    lived = (datetime.datetime.fromisoformat(entry["expires_at"])
             - datetime.datetime.fromisoformat(entry["created_at"]))
    assert lived == datetime.timedelta(hours=2)
