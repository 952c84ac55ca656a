"""One session through the Python API: record into it, report on it, guard its budget."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sessionstats.api import Database, TimeArg, aware, scope, stored_time
from sessionstats.errors import InvalidInput
from sessionstats.ids import new_id
from sessionstats.ingest.records import Recorded, StoryInput, TokenUsageInput

if TYPE_CHECKING:
    from sessionstats.ingest.responses import ResponseUsage
    from sessionstats.pricing.explain import SessionCostSplit
    from sessionstats.reports.breakdowns import Breakdown, Dimension
    from sessionstats.reports.budget import Budget, BudgetReport
    from sessionstats.reports.session_records import CallLine, StoryLine
    from sessionstats.reports.stats import SessionStats
    from sessionstats.reports.timeline import Bucket
    from sessionstats.sessions import Session

# The story being made in this thread or task, as (session id, story id): token records made meanwhile link to it.
current_story: ContextVar[tuple[str, str] | None] = ContextVar("sessionstats_current_story", default=None)


@dataclass
class StoryDraft(StoryInput):
    """A story being made inside `with session.story(...)`; set its fields before the block ends.
    `recorded` says how it was recorded once the block has ended well."""

    recorded: Recorded | None = None


class SessionHandle:
    """One of your sessions; each call opens the database, does its work and closes it."""

    def __init__(self, database: Database, session_id: str, *, create: bool = False) -> None:
        self.database = database
        self.id = session_id
        self.create = create

    def __repr__(self) -> str:
        return f"sessionstats.SessionHandle({self.id!r}, user={self.database.user!r})"

    def info(self) -> Session:
        """The session itself: name, settings, status and its times."""
        from sessionstats.sessions import require_session

        with self.database.reading() as store:
            return aware(require_session(store, self.id, user=self.database.user))

    def record_story(self, title: str, *, narrative: str | None = None, tone: str | None = None,
                     priority: str | None = None, word_count: int | None = None, duration: float | None = None,
                     id: str | None = None, at: TimeArg = None, journal: bool = True) -> Recorded:
        """Record a story; an `id` already in the session is a no-op (as `record-story`). A database busy past
        the lock timeout journals it (`journal=False`: raises DatabaseBusy, as the CLI does)."""
        return self._keep_story(StoryInput(self.id, title, narrative, tone, priority, word_count, duration, id,
                                           stored_time(at, "at")), journal=journal)

    def story_input(self, title: str, *, narrative: str | None = None, tone: str | None = None,
                    priority: str | None = None, word_count: int | None = None, duration: float | None = None,
                    id: str | None = None, at: TimeArg = None) -> StoryInput:
        """The checked story `record_story` stores (with its id and time fixed), for `Database.record_batch`."""
        return self._checked_story(StoryInput(self.id, title, narrative, tone, priority, word_count, duration, id,
                                              stored_time(at, "at")))

    def _keep_story(self, story: StoryInput, *, journal: bool = True) -> Recorded:
        checked = self._checked_story(story)
        return self.database.keep("story", checked, checked.id, create=self.create,  # type: ignore[arg-type]
                                  journal=journal)

    def _checked_story(self, story: StoryInput) -> StoryInput:
        """The story checked, in this session, with an id and a time of its own (a journaled story keeps them)."""
        from sessionstats.ingest.records import _checked_story
        from sessionstats.times import utc_now

        return _checked_story(replace(story, session_id=self.id, id=new_id() if story.id is None else story.id,
                                      created_at=story.created_at or utc_now()))

    def record_tokens(self, input_tokens: int, output_tokens: int, *, cache_read_tokens: int = 0,
                      cache_write_tokens: int = 0, cache_write_1h_tokens: int = 0, model: str | None = None,
                      provider: str | None = None, cost: Decimal | str | int | None = None,
                      story_id: str | None = None, request_id: str | None = None, at: TimeArg = None,
                      service_tier: str | None = None) -> Recorded:
        """Record one API call's tokens; without `cost`, priced from `model` at its time and `service_tier`
        (batch, flex, priority...), as `record-tokens` does."""
        return self._keep_usage(self.token_usage(
            input_tokens, output_tokens, cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens,
            cache_write_1h_tokens=cache_write_1h_tokens, model=model, provider=provider, cost=cost,
            story_id=story_id, request_id=request_id, at=at, service_tier=service_tier))

    def token_usage(self, input_tokens: int, output_tokens: int, *, cache_read_tokens: int = 0,
                    cache_write_tokens: int = 0, cache_write_1h_tokens: int = 0, model: str | None = None,
                    provider: str | None = None, cost: Decimal | str | int | None = None,
                    story_id: str | None = None, request_id: str | None = None, at: TimeArg = None,
                    service_tier: str | None = None) -> TokenUsageInput:
        """The call `record_tokens` records, not yet validated or priced, for `Database.record_batch`."""
        from sessionstats.validate import parse_cost

        return TokenUsageInput(
            session_id=self.id, input_tokens=input_tokens, output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens,
            cache_write_1h_tokens=cache_write_1h_tokens, model=model, provider=provider,
            cost=parse_cost(cost, "cost"), story_id=story_id, request_id=request_id, created_at=stored_time(at, "at"),
            service_tier=service_tier)

    def record_response(self, response: Any, *, story_id: str | None = None, model: str | None = None,
                        provider: str | None = None, cost: Decimal | str | int | None = None,
                        at: TimeArg = None) -> Recorded:
        """Record the usage an LLM API response reports: an SDK object, a dict, or JSON / event-stream text."""
        from dataclasses import fields

        from sessionstats.ingest.capture import response_usage
        from sessionstats.validate import parse_cost

        taken = response_usage(response)
        # Every field the response gives that a token record has (counts, model, request id, and any added later).
        shared = {f.name for f in fields(TokenUsageInput)} & {f.name for f in fields(taken)}
        usage = TokenUsageInput(**{
            **{name: getattr(taken, name) for name in shared}, "session_id": self.id, "story_id": story_id,
            "model": model or taken.model, "provider": provider or getattr(taken, "provider", None),
            "cost": parse_cost(cost, "cost"),
            "created_at": stored_time(at, "at"),
        })
        return self._keep_usage(usage)

    def record_call(self, taken: ResponseUsage, *, model: str | None = None, provider: str | None = None,
                    cost: Decimal | None = None, story_id: str | None = None, service_tier: str | None = None,
                    at: TimeArg = None) -> Recorded:
        """Record one call as `record-tokens` does: the usage `read_response` took from a saved response (or the
        counts given as one), a row per billed iteration, priced at the response's time; a busy database raises."""
        from sessionstats.ingest.records import prepare_usage, record_call_parts
        from sessionstats.ingest.responses import call_parts

        usage = TokenUsageInput(
            session_id=self.id, input_tokens=taken.input_tokens, output_tokens=taken.output_tokens,
            cache_read_tokens=taken.cache_read_tokens, cache_write_tokens=taken.cache_write_tokens,
            cache_write_1h_tokens=taken.cache_write_1h_tokens, model=model or taken.model, provider=provider,
            cost=cost, story_id=story_id, request_id=taken.request_id, created_at=stored_time(at, "at"),
            service_tier=taken.service_tier or service_tier)
        # priced before the database is locked: genai-prices takes a while to load
        parts = [prepare_usage(part) for part in call_parts(taken, usage)]
        with self.database.writing(create=self.create) as store:
            return record_call_parts(store, parts, user=self.database.user, create=self.create)

    @contextmanager
    def story(self, title: str, **fields: Any) -> Iterator[StoryDraft]:
        """Record a story when the block ends well; token records made inside it (also by `track`) link to it.

        A block that raises records no story (nothing was made); the calls it paid for stay recorded."""
        story_id = fields.pop("id", None) or new_id()
        draft = StoryDraft(session_id=self.id, title=title, id=story_id, **fields)
        token = current_story.set((self.id, story_id))
        try:
            yield draft
        finally:
            current_story.reset(token)
        draft.recorded = self._keep_story(replace(draft, created_at=stored_time(draft.created_at, "created_at")))

    def stats(self, *, since: TimeArg = None, until: TimeArg = None, model: str | None = None,
              tone: str | None = None, priority: str | None = None) -> SessionStats:
        """The session's figures in scope (as `show`)."""
        from sessionstats.reports.stats import session_stats

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            return aware(session_stats(store, self.id, user=self.database.user, scope=chosen))

    def breakdown(self, *by: Dimension | str, zone: str | None = None, since: TimeArg = None, until: TimeArg = None,
                  model: str | None = None, tone: str | None = None, priority: str | None = None) -> Breakdown:
        """The figures split by tone, priority, model, day or hour (as `show --by`); days are cut in `zone`
        (an IANA name; default $SESSIONSTATS_TZ, else the machine's zone, as the CLI)."""
        from sessionstats.api import _choice, bucket_zone
        from sessionstats.reports.breakdowns import Dimension, breakdown
        from sessionstats.reports.stats import session_stats

        if not by:
            raise InvalidInput("by: give at least one of tone, priority, model, day, hour", field="by")
        dimensions = [_choice(Dimension, d, "by") for d in by]
        zone = bucket_zone(zone)
        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            totals = session_stats(store, self.id, user=self.database.user, scope=chosen)
            return aware(breakdown(store, totals, dimensions, user=self.database.user, zone=zone, scope=chosen))

    def timeline(self, every: timedelta | str | None = None, *, zone: str | None = None, since: TimeArg = None,
                 until: TimeArg = None, model: str | None = None, tone: str | None = None,
                 priority: str | None = None) -> list[Bucket]:
        """The figures per bucket of `every` (a timedelta, or 15m/hour/day...; None: the shortest that shows the
        session in at most 48 buckets), cut in `zone` (as `timeline`)."""
        from sessionstats.api import bucket_zone
        from sessionstats.reports.timeline import default_every, parse_every, timeline

        zone = bucket_zone(zone)
        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            length = (parse_every(every) if every is not None
                      else default_every(store, self.id, user=self.database.user, scope=chosen))
            return aware(timeline(store, self.id, length, user=self.database.user, zone=zone, scope=chosen))

    def check(self, *, max_cost: Decimal | str | int | None = None, max_tokens: int | None = None,
              max_stories: int | None = None, warn_at: Decimal | int | str = 80, since: TimeArg = None,
              until: TimeArg = None, model: str | None = None, tone: str | None = None,
              priority: str | None = None) -> list[str]:
        """Raise BudgetExceeded once a figure reaches its limit; else return the warnings (as `check`)."""
        from sessionstats.reports.budget import Budget, check_budget
        from sessionstats.validate import parse_cost

        budget = Budget(max_cost=parse_cost(max_cost, "max_cost"), max_tokens=max_tokens, max_stories=max_stories,
                        warn_at=warn_at)  # type: ignore[arg-type]  # Budget reads a number or its text
        return check_budget(self.stats(since=since, until=until, model=model, tone=tone, priority=priority), budget)

    def start(self, *, at: TimeArg = None) -> Session:
        """Go live: idle -> live (as `start`)."""
        from sessionstats.sessions import start_session

        with self.database.writing(create=False) as store:
            return aware(start_session(store, self.id, user=self.database.user, at=stored_time(at, "at")))

    def end(self, *, at: TimeArg = None) -> Session:
        """Stop: live -> ended (as `end`)."""
        from sessionstats.sessions import end_session

        with self.database.writing(create=False) as store:
            return aware(end_session(store, self.id, user=self.database.user, at=stored_time(at, "at")))

    def report(self, *by: Dimension | str, zone: str | None = None, since: TimeArg = None, until: TimeArg = None,
               model: str | None = None, tone: str | None = None,
               priority: str | None = None) -> tuple[SessionStats, Breakdown | None]:
        """The figures and, when `by` names dimensions, their breakdown, read together (as `show [--by]`)."""
        from sessionstats.api import _choice, bucket_zone
        from sessionstats.reports.breakdowns import Dimension, breakdown
        from sessionstats.reports.stats import session_stats

        dimensions = [_choice(Dimension, d, "by") for d in by]
        cut_in = bucket_zone(zone) if dimensions else "UTC"
        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            totals = session_stats(store, self.id, user=self.database.user, scope=chosen)
            split = breakdown(store, totals, dimensions, user=self.database.user, zone=cut_in,
                              scope=chosen) if dimensions else None
        return aware(totals), aware(split)

    def default_every(self, *, since: TimeArg = None, until: TimeArg = None, model: str | None = None,
                      tone: str | None = None, priority: str | None = None) -> timedelta:
        """The shortest bucket length that shows the session in at most 48 buckets (`timeline`'s default)."""
        from sessionstats.reports.timeline import default_every

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            return default_every(store, self.id, user=self.database.user, scope=chosen)

    def stories(self, *, last: int | None = None, since: TimeArg = None, until: TimeArg = None,
                model: str | None = None, tone: str | None = None, priority: str | None = None) -> list[StoryLine]:
        """The session's stories in scope (the newest `last`), oldest first, with their calls and cost (as
        `stories`)."""
        from sessionstats.reports.session_records import session_stories

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            return aware(session_stories(store, self.id, user=self.database.user, scope=chosen, limit=last))

    def calls(self, *, last: int | None = None, since: TimeArg = None, until: TimeArg = None,
              model: str | None = None, tone: str | None = None, priority: str | None = None) -> list[CallLine]:
        """The session's token records in scope (the newest `last`), oldest first (as `calls`)."""
        from sessionstats.reports.session_records import session_calls

        chosen = scope(since, until, model=model, tone=tone, priority=priority)
        with self.database.reading() as store:
            return aware(session_calls(store, self.id, user=self.database.user, scope=chosen, limit=last))

    def budget(self, limits: Budget, *, since: TimeArg = None, until: TimeArg = None, model: str | None = None,
               tone: str | None = None, priority: str | None = None) -> BudgetReport:
        """Which limits the figures in scope reached and which passed the warning share, without raising."""
        from sessionstats.reports.budget import assess_budget

        return assess_budget(self.stats(since=since, until=until, model=model, tone=tone, priority=priority), limits)

    def explain(self) -> SessionCostSplit:
        """How the session's total splits into given, reported, estimated and unknown costs (as `explain -s`)."""
        from sessionstats.pricing.explain import explain_session

        with self.database.reading() as store:
            return aware(explain_session(store, self.id, user=self.database.user))

    def rename(self, name: str) -> Session:
        """Give the session a new name (as `rename`)."""
        from sessionstats.sessions import rename_session

        with self.database.writing(create=False) as store:
            return aware(rename_session(store, self.id, name, user=self.database.user))

    def delete(self) -> tuple[Session, int, int]:
        """Delete the session with its stories and token records; return it and how many of each went."""
        from sessionstats.sessions import delete_session

        with self.database.writing(create=False) as store:
            session, stories, tokens = delete_session(store, self.id, user=self.database.user)
        return aware(session), stories, tokens

    def _keep_usage(self, usage: TokenUsageInput) -> Recorded:
        from sessionstats.ingest.records import prepare_usage

        linked = current_story.get()
        in_block = usage.story_id is None and linked is not None and linked[0] == self.id
        if in_block:
            usage = replace(usage, story_id=linked[1])  # type: ignore[index]
        prepared = prepare_usage(usage)  # validated and priced before the database is locked
        recorded = self.database.keep("tokens", prepared, new_id(), create=self.create)
        if not in_block or not recorded.warning:
            return recorded
        # The open `story()` block records its story when it ends: that it is not there yet is no news.
        pending = f"has no story {prepared.story_id!r} yet"
        kept = [line for line in recorded.warning.splitlines() if pending not in line]
        return replace(recorded, warning="\n".join(kept) or None)
