"""Property tests: for any valid records, the reports equal totals computed independently with Decimal.

Records go in through the core (one open store per example, to keep the suite fast); the figures come
out through the CLI (`show --format json`, `list --format json`), the way a user reads them.
"""

import json
import re
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sessionstats.cli import app
from sessionstats.display.render import fmt_cost, fmt_tokens
from sessionstats.ingest.records import StoryInput, TokenUsageInput, record_story, record_tokens
from sessionstats.sessions import create_session
from sessionstats.store import open_store
from sessionstats.validate import MAX_BIGINT, MAX_COST

USERS = ("alice", "bob")
SESSIONS = ("s1", "s2", "s3")
QUANTUM = Decimal("1e-18")

costs = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=MAX_COST - QUANTUM, places=18, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=1, places=9),  # the realistic range, often
)
counts = st.one_of(st.integers(0, 10_000), st.integers(0, 2**60))


@dataclass(frozen=True)
class TokenCall:
    user: str
    session: str
    input_tokens: int
    output_tokens: int
    cache_read: int
    cache_write: int
    cost: Decimal | None


@dataclass(frozen=True)
class Story:
    user: str
    session: str
    narrative: str
    word_count: int | None


token_calls = st.builds(TokenCall, st.sampled_from(USERS), st.sampled_from(SESSIONS), counts, counts,
                        st.integers(0, 2**40), st.integers(0, 2**40), costs)
stories = st.builds(Story, st.sampled_from(USERS), st.sampled_from(SESSIONS),
                    st.text(alphabet=st.sampled_from("ab —-\n\t.7é"), max_size=40),
                    st.one_of(st.none(), st.integers(0, 2**50)))
records = st.lists(st.one_of(token_calls, stories), max_size=12)


def expected_totals(recorded: list, user: str, session: str) -> dict:
    """The figures for one session, summed here in Python with exact Decimal."""
    with localcontext() as exact:
        exact.prec = 60  # 12 costs of up to 1e9 with 18 places need 29 digits; the default keeps 28
        return _expected_totals(recorded, user, session)


def _expected_totals(recorded: list, user: str, session: str) -> dict:
    mine = [r for r in recorded if (r.user, r.session) == (user, session)]
    calls = [r for r in mine if isinstance(r, TokenCall)]
    tales = [r for r in mine if isinstance(r, Story)]
    words = sum(s.word_count if s.word_count is not None else
                sum(1 for run in s.narrative.split() if any(c.isalnum() for c in run)) for s in tales)
    cost = sum((c.cost for c in calls if c.cost is not None), Decimal(0))
    return {
        "story_count": len(tales), "api_calls": len(calls),
        "input_tokens": sum(c.input_tokens for c in calls), "output_tokens": sum(c.output_tokens for c in calls),
        "cache_read_tokens": sum(c.cache_read for c in calls), "cache_write_tokens": sum(c.cache_write for c in calls),
        "total_tokens": sum(c.input_tokens + c.output_tokens + c.cache_read + c.cache_write for c in calls),
        "total_cost": cost, "unpriced_records": sum(1 for c in calls if c.cost is None), "word_count": words,
        "cost_per_story": (cost / len(tales)).quantize(QUANTUM, ROUND_HALF_UP) if tales else None,
    }


def record_all(db: Path, recorded: list) -> None:
    with open_store(db, write=True) as store:
        for user in USERS:
            for session in SESSIONS:
                create_session(store, user=user, session_id=session)
        for r in recorded:
            if isinstance(r, TokenCall):
                record_tokens(store, TokenUsageInput(r.session, r.input_tokens, r.output_tokens, r.cache_read,
                                                     r.cache_write, cost=r.cost), user=r.user)
            else:
                record_story(store, StoryInput(r.session, "title", narrative=r.narrative, word_count=r.word_count),
                             user=r.user)


def report(db: Path, user: str, *args: str):
    result = CliRunner().invoke(app, [*args, "--format", "json", "--db", str(db), "--user", user])
    assert result.exit_code == 0, (result.stderr, result.exception)
    return json.loads(result.stdout, parse_float=Decimal)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_show_equals_decimal_totals_and_list_agrees_with_show(recorded):
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "stats.duckdb"
        record_all(db, recorded)
        for user in USERS:
            listed = {row["session_id"]: row for row in report(db, user, "list")}
            assert sorted(listed) == sorted(SESSIONS)
            for session in SESSIONS:
                shown = report(db, user, "show", session)
                expected = expected_totals(recorded, user, session)
                assert {key: shown[key] for key in expected} == expected
                assert listed[session] == shown


@settings(deadline=None)  # a stalled machine must not fail a pure function
@given(st.integers(0, MAX_BIGINT))
def test_fmt_tokens_reads_back_to_the_same_integer(n):
    text = fmt_tokens(n)
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text)
    assert int(text.replace(",", "")) == n


@settings(deadline=None)  # a stalled machine must not fail a pure function
@given(st.decimals(min_value=0, max_value=MAX_COST * 100, places=18, allow_nan=False, allow_infinity=False))
def test_fmt_cost_is_the_half_up_four_place_rounding(cost):
    text = fmt_cost(cost)
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d{4}", text)
    shown = Decimal(text[1:].replace(",", ""))
    with localcontext() as exact:
        exact.prec = 60
        assert shown == cost.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        assert abs(shown - cost) <= Decimal("0.00005")
        assert shown - cost != Decimal("-0.00005")  # a half rounds up, never down
