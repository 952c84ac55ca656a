"""A story made in a `with session.story(...)` block is the one story record (StoryInput) the core records."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import db_argument, table_of

import sessionstats
from sessionstats.ingest.records import StoryInput


@pytest.fixture
def session(db):
    return sessionstats.connect(db_argument(db), user="alice").new_session(id="draft")


def test_a_story_block_offers_every_field_a_recorded_story_has():
    assert {f.name for f in fields(sessionstats.StoryDraft)} == {f.name for f in fields(StoryInput)} | {"recorded"}


def test_fields_set_inside_the_block_are_the_ones_recorded_times_stored_in_utc(session, db):
    written_at = datetime(2026, 11, 24, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    with session.story("Harbour at dawn", tone="calm", created_at=written_at) as story:
        story.narrative = "The fog lifts over the harbour"
        story.duration = 12.5
        story.priority = "high"
    assert story.recorded.created and story.recorded.id == story.id
    assert table_of(db, "SELECT session_id, title, narrative, tone, priority, word_count, duration, created_at "
                        "FROM story_history") == [
        ("draft", "Harbour at dawn", "The fog lifts over the harbour", "calm", "high", 6, 12.5,
         datetime(2026, 11, 24, 8, 30))]


def test_a_story_block_given_a_bad_field_records_nothing_and_names_the_field(session, db):
    with pytest.raises(sessionstats.InvalidInput) as refused, session.story("Bad count") as story:
        story.word_count = -1
    assert refused.value.field == "word_count"
    assert table_of(db, "SELECT count(*) FROM story_history") == [(0,)]


def test_a_story_block_without_a_time_is_stamped_when_it_ends(session, db):
    before = datetime.now(UTC).replace(tzinfo=None)
    with session.story("Now"):
        pass
    (stamped,), = table_of(db, "SELECT created_at FROM story_history")
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
