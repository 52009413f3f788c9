"""Shared fixtures: a fresh cache per test, and the repository's paths."""

from __future__ import annotations

import os
import pathlib

import pytest

import cacheness

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture
def cache(tmp_path: pathlib.Path):
    with cacheness.Cache(tmp_path / "cache") as c:
        yield c


@pytest.fixture
def cli() -> str:
    """The `cacheness` binary built beside the package (CACHENESS_CLI, else the debug build)."""
    path = os.environ.get("CACHENESS_CLI") or str(
        pathlib.Path(os.environ.get("CARGO_TARGET_DIR",
                                    pathlib.Path.home() / ".cache/cacheness-target"))
        / "debug" / "cacheness")
    if not os.path.exists(path):
        pytest.fail(f"no cacheness binary at {path}: build the workspace first")
    return path
