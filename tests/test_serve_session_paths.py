"""Session ids in the web API's paths: an id may hold '/', '%', '?' or '#', and a real server (uvicorn decodes a
path before routing) still reaches the session by its encoded id; an encoding that is no UTF-8 is refused."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from serve_helpers import serving

pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.file_only

# Prices: claude-sonnet-4-5 $3 / $15 per million input / output tokens (anthropic.com/pricing):
# 1,000 x 3 / 1e6 + 100 x 15 / 1e6 = 0.003 + 0.0015 = 0.0045.
ODD_IDS = ["feature/login", "a/detail", "50%", "what?", "#1", "a b", "é/e\u0301"]


def test_a_session_whose_id_holds_a_slash_or_a_percent_is_reached_by_its_encoded_id(cli, db):
    for session in ODD_IDS:
        cli.ok("record-tokens", "-s", session, "--create", "--model", "claude-sonnet-4-5",
               "--input", "1000", "--output", "100")
    cli.ok("new", "--id", "a")  # 'a/detail' must not read as the detail of 'a'
    with serving(str(db)) as url:
        for session in ODD_IDS:
            base = f"{url}api/sessions/{quote(session, safe='')}"
            stats = httpx.get(base, timeout=10)
            assert stats.status_code == 200, (session, stats.text)
            assert (stats.json()["session_id"], stats.json()["total_tokens"], stats.json()["total_cost"]) == \
                (session, 1100, "0.0045")
            detail = httpx.get(f"{base}/detail", timeout=10).json()
            assert detail["stats"]["session_id"] == session
            posted = httpx.post(f"{base}/tokens", json={"model": "claude-sonnet-4-5", "input_tokens": 1000,
                                                        "output_tokens": 100}, timeout=10)
            assert posted.status_code == 201, (session, posted.text)
            assert httpx.get(base, timeout=10).json()["api_calls"] == 2
        assert httpx.get(f"{url}api/sessions/a", timeout=10).json()["api_calls"] == 0


def test_a_session_id_encoded_as_no_utf8_is_400_naming_session_id(cli, db):
    cli.ok("new", "--id", "\ufffd")  # what a lenient decoding of %ff would have looked up
    with serving(str(db)) as url:
        for path in ("api/sessions/%ff", "api/sessions/%ff/detail"):
            answer = httpx.get(f"{url}{path}", timeout=10)
            assert answer.status_code == 400, answer.text
            assert answer.json()["field"] == "session_id"
        assert httpx.post(f"{url}api/sessions/%ff/tokens", json={"input_tokens": 1, "output_tokens": 1},
                          timeout=10).status_code == 400
    assert cli.ok("calls", "\ufffd", "--format", "json").strip() == "[]"


def test_a_session_path_whose_prefix_is_percent_encoded_still_names_the_session_it_spells(cli, db):
    cli.ok("record-tokens", "-s", "s1", "--create", "--input", "5", "--output", "1", "--cost", "0")
    cli.ok("new", "--id", "ns")  # what slicing the raw path at the decoded prefix's length would have read
    with serving(str(db)) as url:
        answer = httpx.get(f"{url}api/%73essions/s1", timeout=10)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["session_id"], answer.json()["api_calls"]) == ("s1", 1)
