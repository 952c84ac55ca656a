"""The code stays `ruff check` clean; the suite fails when it is not."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
def test_ruff_check_is_clean():
    targets = [p for p in ("sessionstats", "tests", "benchmarks") if (ROOT / p).exists()]
    done = subprocess.run(["ruff", "check", *targets], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
