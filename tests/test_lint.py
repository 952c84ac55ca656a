"""The code stays `ruff check` clean and the public API type-checks strictly; the suite fails when not."""

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


PUBLIC_API = ["sessionstats/__init__.py", "sessionstats/api.py", "sessionstats/api_records.py",
              "sessionstats/api_tasks.py", "sessionstats/session_api.py", "sessionstats/tracking.py"]


@pytest.mark.skipif(shutil.which("mypy") is None, reason="mypy is not installed (pip install -e '.[test]')")
def test_the_public_api_type_checks_strictly():
    done = subprocess.run(["mypy", "--strict", *PUBLIC_API], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
