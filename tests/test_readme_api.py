"""The README's Python example runs as pasted and prints what the README says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def _section_blocks(kind: str) -> list[str]:
    section = README.read_text().split("## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{kind}\n(.*?)```", section, re.S)


def test_the_readme_python_example_runs_and_prints_what_the_readme_shows(tmp_path):
    example = _section_blocks("python")[0]
    (tmp_path / "example.py").write_text(example)
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TZ": "UTC",
                                            "XDG_DATA_HOME": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert done.stdout == _section_blocks("text")[0]
    assert (tmp_path / "stories.duckdb").exists()
