"""Import token usage records in bulk: one transaction, set-based checks, estimated costs by rate tables."""

from __future__ import annotations

from sessionstats.errors import InvalidInput
from sessionstats.ingest.files.batch import (
    ROW_INDEX,
    ImportResult,
    ImportSource,
    StepReporter,
    drop_repeats,
    ensure_sessions,
    stage_rows,
    staged_counts,
)
from sessionstats.ingest.files.checks import Field
from sessionstats.ingest.files.sources import record_location
from sessionstats.ingest.records import TOKEN_USAGE_COLUMNS
from sessionstats.pricing.bulk import (
    BILLED_COST,
    BILLED_RATES_JOIN,
    ESTIMATED_COST,
    RATES_JOIN,
    TOOL_COST,
    load_rates,
)
from sessionstats.pricing.prices import check_provider
from sessionstats.store import Store
from sessionstats.times import utc_now
from sessionstats.validate import MAX_BIGINT, MAX_COST, check_estimate

TOKEN_FIELDS = (
    Field("session_id", "session", required=True),
    Field("model", "model"),
    Field("provider", "label"),
    Field("input_tokens", "count", required=True),
    Field("output_tokens", "count", required=True),
    Field("cache_read_tokens", "count"),
    Field("cache_write_tokens", "count"),
    Field("cache_write_1h_tokens", "count"),  # of cache_write_tokens, the 1-hour writes
    Field("cost", "cost"),
    Field("cost_source", "label"),  # as `export` writes it: keeps an estimated cost estimated (repriceable)
    Field("request_id", "id", blank_refused=True),
    Field("story_id", "id", blank_refused=True),
    Field("created_at", "time"),
    # What beyond the counts changes the price, as record-tokens --service-tier and Claude Code's logs give it
    # and `export` writes it: a record's tier, its speed (fast mode) and its billed web searches.
    Field("service_tier", "label"),
    Field("speed", "label"),
    Field("tool_calls", "count"),
)
_DEFAULTS = {"cache_read_tokens": "coalesce(cache_read_tokens, 0)",
             "cache_write_tokens": "coalesce(cache_write_tokens, 0)",
             "cache_write_1h_tokens": "coalesce(cache_write_1h_tokens, 0)",
             "created_at": "coalesce(created_at, $now)", "provider": "trim(provider)",
             "tool_calls": "coalesce(tool_calls, 0)"}
_TOTAL = ("(coalesce(input_tokens, 0)::HUGEINT + coalesce(output_tokens, 0) + coalesce(cache_read_tokens, 0)"
          " + coalesce(cache_write_tokens, 0))")
_ONE_HOUR_FITS = "coalesce(cache_write_1h_tokens, 0) <= coalesce(cache_write_tokens, 0)"
_SOURCE_FITS = ("(cost_source IS NULL OR (cost_source IN ('given', 'reported', 'estimated') AND cost IS NOT NULL)"
                " OR (cost_source = 'unknown' AND cost IS NULL))")
_CROSS_CHECKS = (f"{_TOTAL} <= {MAX_BIGINT} AND {_ONE_HOUR_FITS} AND {_SOURCE_FITS}",
                 f"WHEN {_TOTAL} > {MAX_BIGINT} THEN 'the four token counts add up to more than {MAX_BIGINT}' "
                 f"WHEN NOT {_ONE_HOUR_FITS} THEN 'cache_write_1h_tokens: ' || cache_write_1h_tokens "
                 "|| ' is more than the ' || coalesce(cache_write_tokens, 0) || ' cache_write_tokens it is part of' "
                 f"WHEN NOT {_SOURCE_FITS} THEN 'cost_source: ' || cost_source || ' does not fit the cost (given, "
                 "reported and estimated need a cost, unknown needs none)'")
_NEEDS_PRICE = "SELECT * FROM import_rows WHERE cost IS NULL AND model IS NOT NULL"


def import_tokens(store: Store, source: ImportSource, *, user: str, session: str | None = None,
                  create_sessions: bool = False, on_step: StepReporter | None = None) -> ImportResult:
    """Store every record of the file, or none: a bad one raises InvalidInput naming its line and column."""
    step = on_step or (lambda _: None)
    now = utc_now()
    # Staging works in temp tables (fast outside a transaction); the command holds the write lock throughout.
    step("reading")
    stage_rows(store, source, TOKEN_FIELDS, session=session, now=now, defaults=_DEFAULTS, extra=_CROSS_CHECKS)
    step("pricing")
    _check_providers(store, source)
    billed = _billed(store)
    cost, rates = (BILLED_COST, BILLED_RATES_JOIN) if billed else (ESTIMATED_COST, RATES_JOIN)
    unknown = load_rates(store, _NEEDS_PRICE, billed=billed)
    _check_estimates(store, source, cost, rates)
    with store.transaction():
        step("checking sessions")
        created = ensure_sessions(store, source, user=user, create=create_sessions, now=now)
        skipped = drop_repeats(store, user=user, table="token_usage", key="request_id")
        imported, unkeyed, sessions = staged_counts(store, "request_id")
        step("writing")
        store.insert_select(
            "token_usage", (*TOKEN_USAGE_COLUMNS, "service_tier", "speed", "tool_calls", "tool_cost"),
            f"""SELECT uuidv7()::VARCHAR, $user, r.session_id, r.story_id, r.model, r.provider, r.input_tokens,
                       r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cache_write_1h_tokens,
                       r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens,
                       coalesce(r.cost, {cost}),
                       CASE WHEN r.cost IS NOT NULL THEN coalesce(r.cost_source, 'given')
                            WHEN {cost} IS NOT NULL THEN 'estimated' ELSE 'unknown' END,
                       r.request_id, r.created_at, r.service_tier, r.speed, r.tool_calls,
                       CASE WHEN r.cost IS NULL THEN {TOOL_COST} END
                FROM import_rows r {rates}""",
            {"user": user},
        )
    store.execute("DROP TABLE import_rows")
    return ImportResult("token records", "request_id", imported, skipped, unkeyed, sessions, created, unknown)


def _billed(store: Store) -> bool:
    """Whether a row to price has a tier, speed or web searches: else the list prices are its whole price (the
    billed rates' per-row key cost ~0.25 CPU s more per million rows)."""
    return bool(store.fetchone(f"""SELECT count(*) FROM ({_NEEDS_PRICE})
                                   WHERE service_tier IS NOT NULL OR speed IS NOT NULL OR tool_calls > 0""")[0])  # type: ignore[index]


def _check_estimates(store: Store, source: ImportSource, cost: str, rates: str) -> None:
    """An estimated cost holds to the per-record limit a given one does (validate.check_estimate)."""
    dear = store.fetchone(f"""SELECT r.rowid - (SELECT min(rowid) FROM import_rows), {cost}
                              FROM import_rows r {rates}
                              WHERE r.cost IS NULL AND {cost} >= {MAX_COST} ORDER BY r.rowid LIMIT 1""")
    if dear:
        try:
            check_estimate(dear[1])
        except InvalidInput as error:
            raise InvalidInput(f"{record_location(source.path, source.format, dear[0])}: {error}") from None


def _check_providers(store: Store, source: ImportSource) -> None:
    """A provider named for pricing must be one the price data knows (as `--provider` must)."""
    rows = store.fetchall(f"SELECT provider, min({ROW_INDEX}) FROM import_rows "
                          "WHERE cost IS NULL AND model IS NOT NULL AND provider IS NOT NULL GROUP BY ALL")
    for provider, first in sorted(rows, key=lambda row: row[1]):
        try:
            check_provider(provider, "provider")
        except InvalidInput as error:
            raise InvalidInput(f"{record_location(source.path, source.format, first)}: {error}") from None
