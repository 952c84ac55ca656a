"""Import stories in bulk: one transaction, set-based checks, word counts computed by the database."""

from __future__ import annotations

from sessionstats.ingest.files.batch import (
    ImportResult,
    ImportSource,
    StepReporter,
    drop_repeats,
    ensure_sessions,
    stage_rows,
    staged_counts,
)
from sessionstats.ingest.files.checks import Field
from sessionstats.ingest.records import STORY_COLUMNS
from sessionstats.store import Store
from sessionstats.times import utc_now

STORY_FIELDS = (
    Field("session_id", "session", required=True),
    Field("id", "id", blank_refused=True),
    Field("title", "label", required=True),
    Field("narrative", "text"),
    Field("tone", "label"),
    Field("priority", "label"),
    Field("word_count", "count"),
    Field("duration", "seconds"),
    Field("created_at", "time"),
)
# records.count_words in SQL: runs between Python's whitespace characters that hold a letter or a digit.
_WHITESPACE = r"[\t\n\x{0B}\x{0C}\r\x{1C}-\x{1F}\x{85}\p{Z}]+"
_WORDS = (f"len(list_filter(regexp_split_to_array(narrative, '{_WHITESPACE}'), "
          r"w -> regexp_matches(w, '[\pL\pN]')))")
_DEFAULTS = {"word_count": f"coalesce(word_count, {_WORDS}, 0)", "created_at": "coalesce(created_at, $now)"}


def import_stories(store: Store, source: ImportSource, *, user: str, session: str | None = None,
                   create_sessions: bool = False, on_step: StepReporter | None = None) -> ImportResult:
    """Store every story of the file, or none; an explicit id already in the session is skipped."""
    step = on_step or (lambda _: None)
    now = utc_now()
    step("reading")
    stage_rows(store, source, STORY_FIELDS, session=session, now=now, defaults=_DEFAULTS)
    with store.transaction():
        step("checking sessions")
        created = ensure_sessions(store, source, user=user, create=create_sessions, now=now)
        skipped = drop_repeats(store, user=user, table="story_history", key="id")
        imported, unkeyed, sessions = staged_counts(store, "id")
        step("writing")
        store.insert_select(
            "story_history", STORY_COLUMNS,
            """SELECT coalesce(r.id, uuidv7()::VARCHAR), $user, r.session_id, r.title, r.narrative, r.tone,
                      r.priority, r.word_count, r.duration, r.created_at
               FROM import_rows r""",
            {"user": user},
        )
    store.execute("DROP TABLE import_rows")
    return ImportResult("stories", "id", imported, skipped, unkeyed, sessions, created)
