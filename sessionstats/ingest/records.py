"""Validate and insert one story or one token usage record."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from sessionstats.errors import InvalidInput
from sessionstats.ids import new_id
from sessionstats.sessions import create_session, resolve_session_id, session_exists
from sessionstats.store import PlainSQL, Store
from sessionstats.times import check_time, utc_now
from sessionstats.validate import (
    MAX_BIGINT,
    SPACE_SEPARATORS,
    check_count,
    check_estimate,
    check_id,
    check_label,
    check_long_text,
    check_model,
    check_seconds,
    parse_cost,
)

# sessionstats.pricing.prices is imported only where a call is priced: ~3 ms a given --cost or a story never needs.

STORY_COLUMNS = ("id", "user_id", "session_id", "title", "narrative", "tone", "priority", "word_count", "duration",
                 "created_at")
TOKEN_USAGE_COLUMNS = ("id", "user_id", "session_id", "story_id", "model", "provider", "input_tokens",
                       "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                       "total_tokens", "estimated_cost", "cost_source", "request_id", "created_at")
PROVENANCE_COLUMNS = ("service_tier", "speed", "tool_calls", "tool_cost", "reported_cost", "price_source",
                      "price_detail", "priced_at", "priced_at_source", "call_part")


@dataclass(frozen=True)
class Recorded:
    """The id of the stored record; `created` is False when it was there already.

    `warning` is for the person, a line each (a model without a price, a story not recorded yet); the core
    never prints it.
    """

    id: str
    created: bool
    warning: str | None = None


@dataclass
class StoryInput:
    """One story to record; its word count is counted from the narrative when not given.

    Not frozen: `with session.story(...) as story` hands one (a StoryDraft) to the caller to fill in."""

    session_id: str
    title: str
    narrative: str | None = None
    tone: str | None = None
    priority: str | None = None
    word_count: int | None = None
    duration: float | None = None
    id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class TokenUsageInput:
    """One API call's token usage to record; counts as the Anthropic API gives them (input is uncached)."""

    session_id: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens, the 1-hour writes
    model: str | None = None
    cost: Decimal | None = None
    cost_source: str = field(default="")  # filled in by prepare_usage: given, reported, estimated or unknown
    story_id: str | None = None
    request_id: str | None = None
    created_at: datetime | None = None
    provider: str | None = None
    # How the provider bills it, and how it was priced (issue 14); see call_pricing and migration m007.
    service_tier: str | None = None
    speed: str | None = None
    tool_calls: int = 0
    reported_cost: Decimal | None = None  # a cost the response or log states
    priced_at: datetime | None = None  # the call's own time (a response's), when known
    priced_at_source: str | None = None  # response, at or now
    call_part: int = 0  # 0 for a call's main row; 1.. for its other iterations (Anthropic usage.iterations)
    tool_cost: Decimal | None = None  # filled in by prepare_usage, as are the three below
    price_source: str | None = None
    price_detail: str | None = None
    price_note: str | None = None  # why it is unpriced, for the person


def count_words(text: str | None) -> int:
    """Words as a reader counts them: space-separated runs holding a letter or digit (a lone dash is not one)."""
    return sum(1 for run in text.split() if any(c.isalnum() for c in run)) if text else 0


def record_story(store: Store, story: StoryInput, *, user: str, create: bool = False) -> Recorded:
    """Insert a story into the user's session; an explicit id already there is a no-op."""
    story = _checked_story(story)
    with store.transaction():
        session_id = _owned_session_id(store, story.session_id, user=user, create=create)
        if story.id is not None:
            existing = store.fetchone(
                PlainSQL("SELECT id FROM story_history WHERE user_id = ? AND session_id = ? AND id = ?"),
                [user, session_id, story.id],
            )
            if existing:
                return Recorded(story.id, created=False)
        story_id = story.id or new_id()
        store.execute(PlainSQL(_insert_values("story_history", STORY_COLUMNS)),
                      story_row(story_id, user, session_id, story))
    return Recorded(story_id, created=True)


def story_row(story_id: str, user: str, session_id: str, story: StoryInput) -> list[object]:
    """A checked story's values in the order of STORY_COLUMNS."""
    return [story_id, user, session_id, story.title, story.narrative, story.tone, story.priority, story.word_count,
            story.duration, story.created_at or utc_now()]


def record_tokens(store: Store, usage: TokenUsageInput, *, user: str, create: bool = False,
                  record_id: str | None = None) -> Recorded:
    """Insert a token usage record; a request id already in the session, or a `record_id` already stored
    (a journal's record stored before), is a no-op.

    Call `prepare_usage` first to price the call before the database is locked; it is done here otherwise.
    """
    return record_call_parts(store, [usage], user=user, create=create, record_id=record_id)


def record_call_parts(store: Store, parts: list[TokenUsageInput], *, user: str, create: bool = False,
                      record_id: str | None = None) -> Recorded:
    """Insert one call's rows (one per model of an Anthropic `usage.iterations`) in one transaction.

    A call is identified by its request id: if the session has it already, nothing is stored; so is a main
    part whose `record_id` (a journal's) is stored already. Returns the main part's record.
    """
    parts = [prepare_usage(part) for part in parts]
    main = parts[0]
    with store.transaction():
        session_id = _owned_session_id(store, main.session_id, user=user, create=create)
        if main.request_id is not None:
            existing = store.fetchone(
                PlainSQL("SELECT id FROM token_usage WHERE user_id = ? AND session_id = ? AND request_id = ? "
                "ORDER BY call_part LIMIT 1"),
                [user, session_id, main.request_id],
            )
            if existing:
                return Recorded(existing[0], created=False)
        if record_id is not None and store.fetchone(PlainSQL("SELECT 1 FROM token_usage WHERE user_id = ? AND id = ?"),
                                                    [user, record_id]):
            return Recorded(record_id, created=False)
        warnings = [] if main.story_id is None else _unknown_story(store, session_id, main.story_id, user=user)
        record_ids = [record_id or new_id()] + [new_id() for _ in parts[1:]]
        for part_id, usage in zip(record_ids, parts, strict=True):
            store.execute(PlainSQL(_insert_values("token_usage", TOKEN_USAGE_COLUMNS + PROVENANCE_COLUMNS)),
                          token_usage_row(part_id, user, session_id, usage))
    warnings += price_notes(parts)
    return Recorded(record_ids[0], created=True, warning="\n".join(dict.fromkeys(warnings)) or None)


def token_usage_row(record_id: str, user: str, session_id: str, usage: TokenUsageInput) -> list[object]:
    """A prepared record's values in the order of TOKEN_USAGE_COLUMNS + PROVENANCE_COLUMNS."""
    return [record_id, user, session_id, usage.story_id, usage.model, usage.provider, usage.input_tokens,
            usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens,
            total_tokens(usage), usage.cost, usage.cost_source, usage.request_id, usage.created_at,
            usage.service_tier, usage.speed, usage.tool_calls, usage.tool_cost, usage.reported_cost,
            usage.price_source, usage.price_detail, usage.priced_at, usage.priced_at_source, usage.call_part]


def price_notes(parts: list[TokenUsageInput]) -> list[str]:
    """Why each priced-by-model record has no cost (a model without a price), for the person."""
    return [part.price_note for part in parts if part.model is not None and part.cost_source == "unknown"
            and part.price_note]


def _unknown_story(store: Store, session_id: str, story_id: str, *, user: str) -> list[str]:
    """A warning when the session has no such story yet; the record is kept (its story may come later)."""
    if store.fetchone(PlainSQL("SELECT 1 FROM story_history WHERE user_id = ? AND session_id = ? AND id = ?"),
                      [user, session_id, story_id]):
        return []
    return [no_story_yet(session_id, story_id)]


def no_story_yet(session_id: str, story_id: str) -> str:
    """The warning for a record whose story is not recorded (yet)."""
    return (f"session {session_id!r} has no story {story_id!r} yet; the record is kept, and counts for that "
            "story once a story with this id is recorded")


def prepare_usage(usage: TokenUsageInput) -> TokenUsageInput:
    """Validate, fix the time, and price the call from its model when no cost is given (at its own time)."""
    checked = checked_usage(usage)
    if checked.cost_source:
        return checked
    created_at = checked.created_at or utc_now()
    priced_at = checked.priced_at or created_at
    when = checked.priced_at_source or ("at" if checked.created_at is not None else "now")
    checked = replace(checked, created_at=created_at, priced_at=priced_at, priced_at_source=when)
    if checked.cost is not None:
        return replace(checked, cost_source="given")
    priced = _price(checked) if checked.model is not None else None
    from sessionstats.pricing.calls import Priced

    if isinstance(priced, Priced):
        checked = replace(checked, tool_cost=priced.tool_cost, price_source=priced.source,
                          price_detail=priced.detail())
    elif priced is not None:
        checked = replace(checked, price_note=priced.reason)
    if checked.reported_cost is not None:
        return replace(checked, cost=checked.reported_cost, cost_source="reported")
    if isinstance(priced, Priced):
        return replace(checked, cost=check_estimate(priced.cost), cost_source="estimated")
    return replace(checked, cost_source="unknown")


def _price(usage: TokenUsageInput) -> object:
    """The call priced by call_pricing (a Priced, or an Unpriced saying why)."""
    from sessionstats.pricing.calls import CallTerms, price_call
    from sessionstats.pricing.prices import TokenCounts

    counts = TokenCounts(usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
                         usage.cache_write_tokens, usage.cache_write_1h_tokens)
    terms = CallTerms(usage.service_tier, usage.speed, usage.tool_calls)
    return price_call(usage.model, usage.provider, counts, usage.priced_at, terms)  # type: ignore[arg-type]


def total_tokens(usage: TokenUsageInput) -> int:
    """All four kinds: uncached input, output, cache reads and cache writes."""
    return usage.input_tokens + usage.output_tokens + usage.cache_read_tokens + usage.cache_write_tokens


def checked_usage(usage: TokenUsageInput) -> TokenUsageInput:
    """The usage with every field validated; raises InvalidInput naming the field."""
    checked = replace(
        usage,
        session_id=check_id(usage.session_id, "session_id"),
        input_tokens=check_count(usage.input_tokens, "input_tokens"),
        output_tokens=check_count(usage.output_tokens, "output_tokens"),
        cache_read_tokens=check_count(usage.cache_read_tokens, "cache_read_tokens"),
        cache_write_tokens=check_count(usage.cache_write_tokens, "cache_write_tokens"),
        cache_write_1h_tokens=check_count(usage.cache_write_1h_tokens, "cache_write_1h_tokens"),
        model=check_model(usage.model),
        cost=parse_cost(usage.cost, "cost"),
        cost_source=usage.cost_source,
        story_id=check_id(usage.story_id, "story_id") if usage.story_id is not None else None,
        request_id=check_id(usage.request_id, "request_id") if usage.request_id is not None else None,
        created_at=check_time(usage.created_at, "created_at"),
        provider=_checked_provider(usage),
        service_tier=check_label(usage.service_tier, "service_tier"),
        speed=check_label(usage.speed, "speed"),
        tool_calls=check_count(usage.tool_calls, "tool_calls"),
        reported_cost=parse_cost(usage.reported_cost, "reported_cost"),
    )
    if total_tokens(checked) > MAX_BIGINT:
        raise InvalidInput(f"total_tokens: the four token counts add up to more than {MAX_BIGINT}",
                           field="total_tokens")
    if checked.cache_write_1h_tokens > checked.cache_write_tokens:
        raise InvalidInput(f"cache_write_1h_tokens: {checked.cache_write_1h_tokens} is more than the "
                           f"{checked.cache_write_tokens} cache write tokens it is part of",
                           field="cache_write_1h_tokens")
    return checked


def _checked_provider(usage: TokenUsageInput) -> str | None:
    """The provider, checked against the price data only when it will price the call."""
    provider = check_label(usage.provider, "provider")
    provider = provider.strip(SPACE_SEPARATORS) if provider is not None else None  # as the import's trim()
    if provider is not None and usage.cost is None and usage.model is not None and not usage.cost_source:
        from sessionstats.pricing.prices import check_provider

        check_provider(provider, "provider")
    return provider


def _checked_story(story: StoryInput) -> StoryInput:
    narrative = check_long_text(story.narrative, "narrative") if story.narrative is not None else None
    word_count = story.word_count
    return StoryInput(
        session_id=check_id(story.session_id, "session_id"),
        title=check_label(story.title, "title", required=True),  # type: ignore[arg-type]
        narrative=narrative,
        tone=check_label(story.tone, "tone"),
        priority=check_label(story.priority, "priority"),
        word_count=count_words(narrative) if word_count is None else check_count(word_count, "word_count"),
        duration=check_seconds(story.duration, "duration"),
        id=check_id(story.id, "id") if story.id is not None else None,
        created_at=check_time(story.created_at, "created_at"),
    )


def _insert_values(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _owned_session_id(store: Store, session_id: str, *, user: str, create: bool) -> str:
    """The session to record into: with `create`, exactly this id (a name or prefix could pick another)."""
    if session_exists(store, session_id, user=user):
        return session_id
    if create:
        return create_session(store, user=user, session_id=session_id).id
    return resolve_session_id(store, session_id, user=user)
