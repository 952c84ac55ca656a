"""Store staged history rows (temp table `history_rows`): price them, make their sessions, add or update records.

A row's request id identifies one API call across runs: a stored record with the same id is replaced when
the new copy has more tokens, else the new copy is dropped; rows with new ids are inserted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sessionstats.errors import InvalidInput
from sessionstats.ingest.files.batch import NEW_SESSION_COLUMNS, StepReporter
from sessionstats.ingest.files.checks import Field, checked_rows
from sessionstats.ingest.records import TOKEN_USAGE_COLUMNS
from sessionstats.pricing.bulk import BILLED_COST, BILLED_RATES_JOIN, RATES_DETAIL, TOOL_COST, load_rates
from sessionstats.pricing.calls import CallTerms, Unpriced, price_call
from sessionstats.pricing.prices import TokenCounts
from sessionstats.store import Store
from sessionstats.validate import MAX_COST, check_estimate

ROW_COLUMNS = """session_id VARCHAR, session_name VARCHAR, request_id VARCHAR, model VARCHAR, provider VARCHAR,
                 created_at TIMESTAMP, input_tokens BIGINT, output_tokens BIGINT, cache_write_tokens BIGINT,
                 cache_read_tokens BIGINT, cache_write_1h_tokens BIGINT DEFAULT 0, service_tier VARCHAR,
                 speed VARCHAR, tool_calls BIGINT DEFAULT 0, reported_cost DECIMAL(38, 18),
                 call_part INTEGER DEFAULT 0, timed BOOLEAN DEFAULT true"""
_UPDATED_COLUMNS = ("model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                    "cache_write_1h_tokens", "total_tokens", "estimated_cost", "cost_source", "created_at",
                    "service_tier", "speed", "tool_calls", "tool_cost", "reported_cost", "price_source", "price_detail",
                    "priced_at", "priced_at_source")
# A cost the log states (Claude Code's costUSD) is the record's cost; else the estimate; else unknown.
_COST_SOURCE = "CASE WHEN reported_cost IS NOT NULL THEN 'reported' WHEN priced THEN 'estimated' ELSE 'unknown' END"
_PRICED = ("service_tier, speed, tool_calls, tool_cost, reported_cost, price_source, price_detail, "
           "created_at AS priced_at, CASE WHEN timed THEN 'response' ELSE 'now' END AS priced_at_source")
_PROVENANCE = _PRICED + ", call_part"  # a new record's; an update keeps the stored record's part
_PROVENANCE_NAMES = ("service_tier", "speed", "tool_calls", "tool_cost", "reported_cost", "price_source",
                     "price_detail", "priced_at", "priced_at_source", "call_part")
# The shared field rules for what a history reader staged (its counts are typed and checked as it reads them).
_FIELDS = (Field("session_id", "id", required=True), Field("session_name", "label"), Field("request_id", "id"),
           Field("model", "model"), Field("created_at", "time"), Field("service_tier", "label"),
           Field("speed", "label"))
# A stored record is this source's own when it is in the same session, or in a session this source made
# (a resumed Claude Code session repeats earlier messages under a new session id). A record of the same
# request id elsewhere (typed by hand, another tool's) is never replaced, nor does it hide a new session.
_OWN_RECORD = """(t.session_id = r.session_id OR t.session_id IN (
    SELECT o.id FROM sessions o WHERE o.user_id = $user AND json_extract_string(o.settings, '$.source') = $source))"""
_NEW_TOTAL = "(k.input_tokens + k.output_tokens + k.cache_write_tokens + k.cache_read_tokens)"


@dataclass(frozen=True)
class Written:
    """What storing the staged rows did."""

    imported: int
    updated: int
    not_bigger: int
    sessions: int
    created_sessions: int
    unknown_models: dict[str, int] = field(default_factory=dict)
    untimed: int = 0  # records whose log gave no time that could be read: stored at the import's time
    too_dear: int = 0  # rows left out (skip_too_dear) because their cost is more than a record may hold
    # Records of a model the price data knows stored without an estimate, by why (a service tier or speed
    # without a published price, web searches without a fee): said as unknown models are, never priced at $0.
    unpriced: dict[str, int] = field(default_factory=dict)


def write_rows(store: Store, *, user: str, source: str, now: object, step: StepReporter,
               also: Callable[[], None] = lambda: None, skip_too_dear: bool = False) -> Written:
    """Price `history_rows` and store them in one transaction (with `also`, e.g. remembering what was read).

    A row costing more than a record may hold refuses them all, or with `skip_too_dear` (an agent's log,
    whose bad lines are skipped and counted) is left out and counted in `too_dear`."""
    _apply_field_rules(store, source)
    untimed = int(store.fetchone("SELECT count(*) FROM history_rows WHERE NOT timed")[0])  # type: ignore[index]
    step("pricing")
    unknown = load_rates(store, "SELECT * FROM history_rows", billed=True, costed="r.reported_cost IS NOT NULL")
    store.execute(f"""CREATE OR REPLACE TEMP TABLE history_priced AS
                      SELECT r.*, coalesce(r.reported_cost, {BILLED_COST}) AS cost, {TOOL_COST} AS tool_cost,
                             {BILLED_COST} IS NOT NULL AS priced, pr.source AS price_source,
                             {RATES_DETAIL} AS price_detail
                      FROM history_rows r {BILLED_RATES_JOIN}""")
    too_dear = _drop_too_dear(store) if skip_too_dear else 0
    unpriced = _unpriced_reasons(store)
    dear = store.fetchone(f"SELECT session_id, request_id, cost FROM history_priced WHERE cost >= {MAX_COST} LIMIT 1")
    if dear:
        try:
            check_estimate(dear[2])
        except InvalidInput as error:
            raise InvalidInput(f"{_where(source, dear[0], dear[1])}: {error}", field=error.field) from None
    with store.transaction():
        step("writing")
        created = _create_sessions(store, user, source, now)
        updated, not_bigger = _update_smaller_copies(store, user, source)
        imported, sessions = _insert_new(store, user)
        also()
    for table in ("history_rows", "history_priced"):
        store.execute(f"DROP TABLE IF EXISTS {table}")
    return Written(imported, updated, not_bigger, sessions, created, unknown, untimed, too_dear, unpriced)


def _unpriced_reasons(store: Store) -> dict[str, int]:
    """Why priced rows of a model the price data knows have no estimate, with how many rows each."""
    groups = store.fetchall(
        """SELECT r.model, r.provider, r.service_tier, r.speed, r.tool_calls > 0, min(r.created_at), count(*)
           FROM history_priced r
           JOIN price_models pm ON pm.model = r.model AND pm.provider_key = coalesce(r.provider, '')
           WHERE r.cost IS NULL AND pm.granularity IS NOT NULL GROUP BY ALL ORDER BY ALL""")
    reasons: Counter[str] = Counter()
    for model, provider, tier, speed, searched, at, rows in groups:
        verdict = price_call(model, provider, TokenCounts(0, 0), at, CallTerms(tier, speed, int(searched)))
        if isinstance(verdict, Unpriced):
            reasons[f"{model}: {verdict.reason}"] += rows
    return dict(reasons)


def _drop_too_dear(store: Store) -> int:
    """Leave out the priced rows whose cost a record may not hold; how many."""
    return int(store.fetchone(f"DELETE FROM history_priced WHERE cost >= {MAX_COST}")[0])  # type: ignore[index]


def _apply_field_rules(store: Store, source: str) -> None:
    """The field rules every path shares, on the staged rows: refuse the first bad one, normalise the rest."""
    store.execute(f"CREATE OR REPLACE TEMP TABLE history_rows AS {checked_rows('history_rows', _FIELDS)}")
    bad = store.fetchone("SELECT session_id, request_id, problem FROM history_rows WHERE problem IS NOT NULL "
                         "ORDER BY created_at LIMIT 1")
    if bad:
        store.execute("DROP TABLE history_rows")
        raise InvalidInput(f"{_where(source, bad[0], bad[1])}: {bad[2]}", field=bad[2].partition(":")[0])
    store.execute("ALTER TABLE history_rows DROP COLUMN problem")


def _where(source: str, session_id: str, request_id: str | None) -> str:
    return f"{source} session {session_id!r}" + (f", message {request_id!r}" if request_id else "")


def _create_sessions(store: Store, user: str, source: str, now: object) -> int:
    """A session per new session id, named as the source names it, with the source in its settings.

    Rows that name it differently (two OpenCode databases, say) give it the least name: the same on every run,
    where any_value took whichever row the scan met first."""
    new = store.fetchone("""SELECT count(*) FROM (SELECT DISTINCT session_id FROM history_priced) r WHERE NOT EXISTS
                                (SELECT 1 FROM sessions s WHERE s.user_id = $user AND s.id = r.session_id)""",
                         {"user": user})
    if not new[0]:  # type: ignore[index]
        return 0  # the sessions are there already: a live receiver's every batch after the first
    return store.insert_select(
        "sessions", NEW_SESSION_COLUMNS,
        f"""SELECT $user, session_id, min(session_name), json_object('source', $source), 'idle',
                  least(min(created_at), $now)
           FROM history_priced r
           WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = $user AND s.id = r.session_id)
             AND NOT EXISTS (SELECT 1 FROM token_usage t WHERE t.user_id = $user AND t.request_id = r.request_id
                                                         AND {_OWN_RECORD})
           GROUP BY session_id""",
        {"user": user, "now": now, "source": source},
    )


def _update_smaller_copies(store: Store, user: str, source: str) -> tuple[int, int]:
    """Replace stored records by this run's bigger copy of the same message; return (updated, not bigger)."""
    store.execute(
        f"""CREATE OR REPLACE TEMP TABLE cc_known AS
           SELECT r.*, t.id AS stored_id, t.total_tokens AS stored_total FROM history_priced r
           JOIN token_usage t ON t.user_id = $user AND t.request_id = r.request_id AND t.call_part = r.call_part
                AND {_OWN_RECORD}""",
        {"user": user, "source": source},
    )
    known = int(store.fetchone("SELECT count(*) FROM cc_known")[0])  # type: ignore[index]
    updated = 0
    if known:  # most batches of a live receiver, and every first import, hold only new calls
        updated = store.update_from(
            "token_usage", _UPDATED_COLUMNS,
            f"""SELECT stored_id AS id, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                       cache_write_1h_tokens, {_NEW_TOTAL} AS total_tokens, cost AS estimated_cost,
                       {_COST_SOURCE} AS cost_source, created_at, {_PRICED}
                FROM cc_known k WHERE {_NEW_TOTAL} > k.stored_total""",
            {"user": user},
        )
        store.execute("""DELETE FROM history_priced h WHERE EXISTS (SELECT 1 FROM cc_known k
                             WHERE k.request_id = h.request_id AND k.call_part = h.call_part)""")
    store.execute("DROP TABLE cc_known")
    return int(updated), known - int(updated)


def _insert_new(store: Store, user: str) -> tuple[int, int]:
    """Insert the messages no earlier run stored; return (records, sessions they went to)."""
    counts = store.fetchone("SELECT count(*), count(DISTINCT session_id) FROM history_priced")
    if not counts[0]:  # type: ignore[index]
        return 0, 0
    store.insert_select(
        "token_usage", (*TOKEN_USAGE_COLUMNS, *_PROVENANCE_NAMES),
        f"""SELECT uuidv7()::VARCHAR, $user, session_id, NULL, model, NULL, input_tokens, output_tokens,
                  cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
                  input_tokens + output_tokens + cache_read_tokens + cache_write_tokens, cost,
                  {_COST_SOURCE}, request_id, created_at, {_PROVENANCE}
           FROM history_priced ORDER BY session_id, created_at""",
        {"user": user}, most_rows=int(counts[0]),  # type: ignore[index]
    )
    return int(counts[0]), int(counts[1])  # type: ignore[index]
