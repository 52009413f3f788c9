"""``@cached``: a function's results stored in a cache, keyed by its arguments.

A call's key is the one Rust's ``#[cached]`` gives for the same function name and arguments
(docs/FUNCTIONS.md): the system parameters ``_fn`` (the function's name) and ``_version``,
and one parameter per argument, bound to the signature with its defaults applied, so
``f(1, 2)`` and ``f(a=1, b=2)`` are one entry.

A miss computes once: concurrent calls with the same key in this process wait for the first
(the wait releases the GIL), and with ``lock_across_processes`` (the default) calls in other
processes wait on the key's lock file instead of computing it too. A result of ``None`` is
stored and hits like any other.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from . import Cache, CacheError, KeyParams, _decode
from ._compat import legacy_ttl

if TYPE_CHECKING:  # imported where used: `import cacheness` stays cheap (W6)
    import asyncio

F = TypeVar("F", bound=Callable[..., Any])

# The receiver of a method is not part of the key, unless it says how to key it.
_RECEIVERS = ("self", "cls")


class CacheInfo(NamedTuple):
    """A cached function's calls in this process."""

    hits: int
    """Calls answered from the cache."""
    misses: int
    """Calls that ran the function."""
    errors: int
    """Calls that ran uncached because the cache failed (each one warned)."""


_default: Cache | None = None
_default_lock = threading.Lock()


def _default_cache() -> Cache:
    """The process-wide cache of functions given none: ``$CACHENESS_DIR``, else
    ``./.cacheness`` (as the CLI and Rust's ``#[cached]``)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Cache(os.environ.get("CACHENESS_DIR", ".cacheness"))
        return _default


class _Flights:
    """One lock per key being computed in this process, dropped when no call holds it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list[Any]] = {}

    def join(self, key: str) -> threading.Lock:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
            return entry[0]

    def leave(self, key: str) -> None:
        with self._guard:
            entry = self._locks[key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]


_flights = _Flights()


def _after_fork_in_child() -> None:
    # A lock held by another thread of the parent at the fork would never be released here.
    global _flights
    _flights = _Flights()
    _async_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _param_name(name: str) -> str:
    # As Rust's #[cached]: leading underscores are dropped (`_seed` is `seed`).
    return name.lstrip("_")


class _Cached:
    """What ``@cached`` makes of a function (see :func:`cached`)."""

    def __init__(self, func: Callable[..., Any], *, cache: Cache | Callable[[], Cache] | None,
                 ttl: str | None, ignore: Iterable[str], version: Any, name: str | None,
                 cache_if: Callable[[Any], bool] | None, description: str | None,
                 lock_across_processes: bool) -> None:
        import inspect

        self.func = func
        self.signature = inspect.signature(func)
        self.name = name or f"{func.__module__}.{func.__qualname__}"
        self.ignore = set(ignore)
        unknown = self.ignore - set(self.signature.parameters)
        if unknown:
            raise TypeError(f"ignore names no argument of {self.name}: {sorted(unknown)}")
        self.version = version
        self.ttl = ttl
        self.cache_if = cache_if
        self.description = description
        self.lock_across_processes = lock_across_processes
        self._cache = cache
        self._counts = [0, 0, 0]
        self._counts_lock = threading.Lock()
        self._check_names()
        # A call giving every argument by position, of a function whose arguments are all
        # plain, all keyed: its parameters without binding (which costs more than a hit).
        parameters = list(self.signature.parameters.values())
        plain = all(p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in self.ignore
                    and p.name not in _RECEIVERS for p in parameters)
        self._positional = tuple(_param_name(p.name) for p in parameters) if plain else None

    def _check_names(self) -> None:
        """Every argument that is part of the key must have a valid parameter name: say so
        at decoration, not at the first call."""
        from . import key

        for name in self.signature.parameters:
            if name in self.ignore or name in _RECEIVERS:
                continue
            try:
                key(**{_param_name(name): 0})
            except CacheError as e:
                raise TypeError(
                    f"argument {name!r} of {self.name} cannot be a key parameter ({e}); "
                    "rename it or list it in ignore=") from None

    def cache(self) -> Cache:
        c = self._cache
        if c is None:
            return _default_cache()
        return c if isinstance(c, Cache) else c()

    def count(self, which: int) -> None:
        with self._counts_lock:
            self._counts[which] += 1

    def info(self) -> CacheInfo:
        with self._counts_lock:
            return CacheInfo(*self._counts)

    def params(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        positional = self._positional
        if positional is not None and not kwargs and len(args) == len(positional):
            return dict(zip(positional, args))
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        params: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in self.ignore:
                continue
            if name in _RECEIVERS:
                keyed = getattr(value, "__cacheness_key__", None)
                if keyed is None:
                    continue
                value = keyed()
            params[_param_name(name)] = value
        return params

    def key_params(self, cache: Cache, args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> KeyParams:
        return cache._native.key_params(self.params(args, kwargs), self.name, self.version)

    def stored(self, cache: Cache, kp: KeyParams) -> tuple[bool, Any]:
        """Whether the call's result is stored, and the result; a hit is counted."""
        found = cache._native.get(kp)
        if found is None:
            return False, None
        self.count(0)
        return True, _decode(found)

    def store(self, cache: Cache, kp: KeyParams, value: Any) -> None:
        if self.cache_if is not None and not self.cache_if(value):
            return
        try:
            cache._put(value, kp, self.ttl, self.description)
        except CacheError as e:
            # The work is not lost to a full disk: the value is returned, the put reported.
            warnings.warn(f"{self.name}: the result could not be stored: {e}", RuntimeWarning,
                          stacklevel=4)

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            cache = self.cache()
            kp = self.key_params(cache, args, kwargs)
            hit, value = self.stored(cache, kp)
        except CacheError as e:
            return self.uncached(e, args, kwargs)
        if hit:
            return value
        flight = _flights.join(kp.key)
        try:
            with flight:  # waiting releases the GIL; Ctrl-C interrupts it
                hit, value = self.stored(cache, kp)
                if hit:
                    return value
                lock = cache._native.lock_key(kp.key) if self.lock_across_processes else None
                try:
                    if lock is not None:
                        hit, value = self.stored(cache, kp)
                        if hit:
                            return value
                    self.count(1)
                    value = self.func(*args, **kwargs)
                    self.store(cache, kp, value)
                    return value
                finally:
                    if lock is not None:
                        lock.release()
        finally:
            _flights.leave(kp.key)

    async def call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        import asyncio

        try:
            cache = self.cache()
            kp = self.key_params(cache, args, kwargs)
            hit, value = self.stored(cache, kp)
        except CacheError as e:
            self.count(2)
            warnings.warn(f"{self.name}: running uncached: {e}", RuntimeWarning, stacklevel=3)
            return await self.func(*args, **kwargs)
        if hit:
            return value
        # Coroutines of one event loop share a thread: they wait on an asyncio lock per key,
        # and the lock across processes is taken in a worker thread.
        flight = _async_flight(kp.key)
        async with flight:
            hit, value = self.stored(cache, kp)
            if hit:
                return value
            lock = None
            if self.lock_across_processes:
                lock = await asyncio.to_thread(cache._native.lock_key, kp.key)
            try:
                if lock is not None:
                    hit, value = self.stored(cache, kp)
                    if hit:
                        return value
                self.count(1)
                value = await self.func(*args, **kwargs)
                self.store(cache, kp, value)
                return value
            finally:
                if lock is not None:
                    lock.release()

    def uncached(self, error: CacheError, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
        self.count(2)
        warnings.warn(f"{self.name}: running uncached: {error}", RuntimeWarning, stacklevel=4)
        return self.func(*args, **kwargs)

    def clear(self) -> int:
        return self.cache()._native.clear_function(self.name)


_async_locks: dict[tuple[int, str], asyncio.Lock] = {}


def _async_flight(key: str) -> asyncio.Lock:
    import asyncio

    loop = id(asyncio.get_running_loop())
    lock = _async_locks.get((loop, key))
    if lock is None:
        lock = _async_locks[(loop, key)] = asyncio.Lock()
    if len(_async_locks) > 4096:  # forget idle locks of finished calls
        for k in [k for k, v in _async_locks.items() if not v.locked() and k != (loop, key)]:
            del _async_locks[k]
    return lock


def cached(func: F | None = None, *, cache: Cache | Callable[[], Cache] | None = None,
           ttl: str | None = None, ignore: Iterable[str] = (), version: Any = None,
           name: str | None = None, cache_if: Callable[[Any], bool] | None = None,
           description: str | None = None, lock_across_processes: bool = True,
           cache_instance: Cache | None = None, ttl_hours: float | None = None,
           ttl_seconds: float | None = None) -> Any:
    """Store a function's results in a cache, keyed by its arguments; bare ``@cached`` or
    ``@cached(...)``.

    - ``cache``: a :class:`Cache`, or a callable returning one (default: one process-wide
      cache at ``$CACHENESS_DIR``, else ``./.cacheness``);
    - ``ttl``: the entries' time to live ("30s", "2h", "7d");
    - ``ignore``: arguments left out of the key (loggers, verbosity);
    - ``version``: part of the key: change it when the function's code changes;
    - ``name``: the function's name in its keys (default: ``module.qualname``);
    - ``cache_if``: called with the result; it is stored only when this returns true;
    - ``description``: the entries' description;
    - ``lock_across_processes``: on a miss, wait for another process computing the same
      key instead of computing it too (default on).

    A method's ``self`` (or ``cls``) is not part of the key unless the object has a
    ``__cacheness_key__()`` method, whose result is keyed. The wrapper has
    ``cache_info()`` (hits, misses, errors in this process) and ``cache_clear()`` (removes
    every stored result of the function, in any process; returns how many). Works on
    ``async def`` functions too.

    The ancestor's names are accepted: ``cache_instance`` for ``cache``, ``ttl_hours`` and
    ``ttl_seconds`` for ``ttl``.
    """
    if cache_instance is not None:
        if cache is not None:
            raise TypeError("give cache or cache_instance, not both")
        cache = cache_instance
    if ttl_hours is not None or ttl_seconds is not None:
        if ttl is not None:
            raise TypeError("give ttl or ttl_hours/ttl_seconds, not both")
        ttl = legacy_ttl(ttl_hours, ttl_seconds)

    import inspect

    def decorate(f: F) -> F:
        c = _Cached(f, cache=cache, ttl=ttl, ignore=ignore, version=version, name=name,
                    cache_if=cache_if, description=description,
                    lock_across_processes=lock_across_processes)
        if inspect.iscoroutinefunction(f):
            @functools.wraps(f)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await c.call_async(args, kwargs)
            wrapper: Any = async_wrapper
        else:
            @functools.wraps(f)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                return c.call(args, kwargs)
            wrapper = sync_wrapper
        wrapper.cache_info = c.info
        wrapper.cache_clear = c.clear
        wrapper.cache_key = lambda *a, **k: c.key_params(c.cache(), a, k).key
        return wrapper  # type: ignore[no-any-return]

    return decorate if func is None else decorate(func)
