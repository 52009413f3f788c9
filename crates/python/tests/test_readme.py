"""The README's Python quick start, run as it is written."""

from __future__ import annotations

import os
import re

from conftest import REPO


def test_the_readme_python_quick_start_runs(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start (Python", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "no Python block in the README's Python quick start"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(blocks[0], "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert (tmp_path / ".cacheness-py").is_dir()
