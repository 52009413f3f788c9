"""A child forked from a process that has a cache open: never hangs or crashes, never touches
the parent's cache state; it gets a clear error for the parent's cache and for opening any
cache (the parent's threads cannot be carried across the fork). A child forked before any
cache was opened works."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

import cacheness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _in_child(body) -> tuple[int, str]:
    """Run ``body()`` in a forked child; its exit status and what it wrote. Fails the test if
    the child does not finish within 60 s (a hang)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        status = 0
        try:
            message = body()
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            message, status = f"{type(e).__name__}: {e}", 1
        os.write(write, str(message).encode())
        os._exit(status)
    os.close(write)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.02)
    with os.fdopen(read, "rb") as f:
        text = f.read().decode()
    return os.waitstatus_to_exitcode(status), text


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_child_gets_a_clear_error_and_the_parent_keeps_its_cache(tmp_path):
    parent = cacheness.Cache(tmp_path / "parent")
    parent.put({"v": 1}, x=1)
    parent.flush()

    def child():
        try:
            parent.get(x=1)
        except cacheness.CacheError as e:
            assert "fork" in str(e), e
        else:
            raise AssertionError("the parent's cache answered in the child")
        for again in ("parent", "child"):
            try:
                cacheness.Cache(tmp_path / again)
            except cacheness.CacheError as e:
                assert "fork" in str(e) and "spawn" in str(e), e
            else:
                raise AssertionError(f"a cache ({again}) opened in the child")
        return "ok"

    code, text = _in_child(child)
    assert (code, text) == (0, "ok")
    parent.put({"v": 2}, x=2)
    assert parent.get(x=1) == {"v": 1} and parent.get(x=2) == {"v": 2}
    assert len(parent.list_entries()) == 2
    parent.flush()
    report = parent.verify()
    assert report["problems"] == [] and report["rows"] == 2, report
    parent.close()
    assert not (tmp_path / "child").exists(), "the child's refused open made a directory"


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_cached_function_in_a_forked_child_runs_uncached_with_a_warning(tmp_path):
    cache = cacheness.Cache(tmp_path / "c")

    @cacheness.cached(cache=cache)
    def f(x):
        return x * 2

    assert f(2) == 4

    def child():
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert f(3) == 6
        assert any("fork" in str(w.message) for w in caught), [str(w.message) for w in caught]
        return "ok"

    assert _in_child(child) == (0, "ok")
    assert f(2) == 4 and f.cache_info().hits == 1
    cache.close()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_child_forked_before_any_cache_was_opened_uses_caches_and_sql(tmp_path):
    # A fresh interpreter: this one opened caches in the tests above.
    import subprocess

    code = f"""
import os, sys
sys.path[:0] = {sys.path!r}
import cacheness
def child():
    with cacheness.Cache({str(tmp_path / "c")!r}) as own:
        own.put([1, 2], y=2)
        assert own.get(y=2) == [1, 2]
        assert len(own.sql("SELECT * FROM cache_entries")) == 1
pid = os.fork()
if pid == 0:
    try:
        child()
    except BaseException as e:
        print(type(e).__name__, e, flush=True)
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    with cacheness.Cache(tmp_path / "c") as again:
        assert again.get(y=2) == [1, 2]
