"""Odd values on the command line, run as a real process: one line naming the option, exit 2, nothing written."""

from __future__ import annotations

import pytest
from conftest import snapshot

pytestmark = pytest.mark.file_only


@pytest.mark.parametrize(("args", "option"), [
    (("show", "s", "--watch", "--interval", "nan"), "--interval"),
    (("show", "s", "--watch", "--interval", "NaN"), "--interval"),
    (("check", "s", "--max-tokens", "5", "--warn-at", "nan"), "--warn-at"),
])
def test_nan_for_a_float_option_is_refused_not_a_busy_loop(run_process, db, args, option):
    assert run_process("new", "--id", "s").returncode == 0
    before = snapshot(db)
    result = run_process(*args, timeout=20)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"sessionstats: Invalid value for '{option}': nan is not a number")
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(db) == before
