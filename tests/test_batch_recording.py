"""`Database.record_batch`: many records in one open and one transaction, each with its own outcome.

Runs on a real DuckDB file and on PostgreSQL (the `db` fixture); the stored rows are read back directly.
"""

from __future__ import annotations

import fcntl
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from conftest import db_argument, snapshot, table_of

import sessionstats
from sessionstats.errors import InvalidInput, SessionNotFound
from sessionstats.ingest.batch_recording import entries_of
from sessionstats.ingest.records import Recorded, StoryInput, TokenUsageInput


def connect(db, user: str = "alice") -> sessionstats.Database:
    return sessionstats.connect(db_argument(db, user), user)


def tokens(session: str, input_tokens: int = 10, output_tokens: int = 5, **fields) -> TokenUsageInput:
    return TokenUsageInput(session, input_tokens, output_tokens, **fields)


def stored_calls(db) -> list[tuple]:
    return sorted(table_of(db, "SELECT session_id, request_id, input_tokens, estimated_cost, cost_source "
                               "FROM token_usage"), key=repr)


def test_a_mixed_batch_stores_exactly_the_good_records_and_says_why_each_other_was_not(db):
    database = connect(db)
    database.new_session("Friday", id="friday")
    first = database.session("friday").record_tokens(1, 1, cost="0.5", request_id="stored-before")
    outcomes = database.record_batch([
        tokens("friday", cost=Decimal("0.0001"), request_id="a"),           # 0: stored
        tokens("friday", input_tokens=-1, request_id="bad"),                # 1: refused, names its field
        tokens("friday", cost=Decimal("0.0002"), request_id="a"),           # 2: repeats 0 in the batch
        tokens("friday", cost=Decimal("9"), request_id="stored-before"),    # 3: repeats a stored one
        tokens("nowhere", cost=Decimal("1")),                               # 4: no such session
        tokens("friday", cost=Decimal("0.0003")),                           # 5: stored (no request id)
    ])
    assert isinstance(outcomes[1], InvalidInput) and outcomes[1].field == "input_tokens"
    assert isinstance(outcomes[4], SessionNotFound)
    assert outcomes[0].created and outcomes[5].created
    assert outcomes[2] == Recorded(outcomes[0].id, created=False)
    assert outcomes[3] == Recorded(first.id, created=False)
    assert stored_calls(db) == sorted([
        ("friday", "stored-before", 1, Decimal("0.5"), "given"),
        ("friday", "a", 10, Decimal("0.0001"), "given"),
        ("friday", None, 10, Decimal("0.0003"), "given"),
    ], key=repr)


def test_records_of_several_sessions_and_their_stories_land_in_one_batch_with_their_links(db):
    database = connect(db)
    for name in ("one", "two"):
        database.new_session(name, id=name)
    outcomes = database.record_batch([
        tokens("one", cost=Decimal("0.25"), story_id="opening"),  # its story comes later in the same batch
        StoryInput("one", "Opening", narrative="wind and rain today", id="opening"),
        StoryInput("one", "Opening again", id="opening"),           # the same story id: nothing new
        tokens("two", 3, 4, cost=Decimal("0.75"), story_id="later"),
    ])
    assert outcomes[0].created and outcomes[0].warning is None
    assert outcomes[1] == Recorded("opening", created=True)
    assert outcomes[2] == Recorded("opening", created=False)
    assert "has no story 'later' yet" in outcomes[3].warning
    assert table_of(db, "SELECT session_id, id, title, word_count FROM story_history") == [
        ("one", "opening", "Opening", 4)]
    one, two = database.session("one").stats(), database.session("two").stats()
    assert (one.story_count, one.api_calls, one.total_cost) == (1, 1, Decimal("0.25"))
    assert (two.story_count, two.api_calls, two.total_tokens, two.total_cost) == (0, 1, 7, Decimal("0.75"))


def test_a_batch_prices_each_call_from_its_model_at_its_own_time(db):
    database = connect(db)
    database.new_session("Priced", id="priced")
    at = datetime(2026, 3, 1, 12, tzinfo=UTC).replace(tzinfo=None)
    [recorded] = database.record_batch([tokens("priced", 100_000, 100_000, model="claude-sonnet-4-5",
                                               created_at=at)])
    # claude-sonnet-4-5 (genai-prices), under 200k input: $3 per million input, $15 per million output tokens.
    assert recorded.created
    assert table_of(db, "SELECT estimated_cost, cost_source, created_at FROM token_usage") == [
        (Decimal("0.3") + Decimal("1.5"), "estimated", at)]


def test_a_batch_with_create_makes_each_missing_session_once(db):
    database = connect(db)
    outcomes = database.record_batch([tokens("made", cost=Decimal("1"), request_id=f"r{n}") for n in range(3)]
                                     + [tokens("also-made", cost=Decimal("2"))], create=True)
    assert all(outcome.created for outcome in outcomes)
    assert sorted(table_of(db, "SELECT id, user_id, status FROM sessions")) == [
        ("also-made", "alice", "idle"), ("made", "alice", "idle")]
    assert database.session("made").stats().api_calls == 3


def test_a_batch_of_only_bad_records_writes_nothing(db):
    database = connect(db)
    database.new_session("Quiet", id="quiet")
    before = snapshot(db)
    outcomes = database.record_batch([tokens("quiet", output_tokens=-5), tokens("quiet", cost=Decimal("-1")),
                                      StoryInput("quiet", ""), tokens("missing", cost=Decimal("1"))])
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "InvalidInput", "InvalidInput", "InvalidInput", "SessionNotFound"]
    assert [outcome.field for outcome in outcomes[:3]] == ["output_tokens", "cost", "title"]
    assert snapshot(db) == before


def test_another_users_session_reads_as_missing_in_a_batch(db):
    connect(db, "bob").new_session("Bob's", id="bobs")
    [outcome] = connect(db).record_batch([tokens("bobs", cost=Decimal("1"))])
    assert isinstance(outcome, SessionNotFound)
    assert table_of(db, "SELECT count(*) FROM token_usage") == [(0,)]


def test_a_repeated_batch_stores_nothing_new(db):
    database = connect(db)
    database.new_session("Again", id="again")
    batch = [tokens("again", cost=Decimal("0.1"), request_id=f"r{n}") for n in range(5)]
    first = database.record_batch(batch)
    second = database.record_batch(batch)
    assert [outcome.created for outcome in second] == [False] * 5
    assert [outcome.id for outcome in second] == [outcome.id for outcome in first]
    assert database.session("again").stats().api_calls == 5


@pytest.mark.file_only
def test_a_batch_meeting_a_locked_database_is_journaled_and_stored_once_by_the_next_write(db, monkeypatch):
    database = connect(db)
    database.new_session("Busy", id="busy")
    monkeypatch.setenv("SESSIONSTATS_LOCK_TIMEOUT", "0.2")
    with open(f"{db}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        outcomes = database.record_batch([tokens("busy", cost=Decimal("0.5"), request_id="r1"),
                                          tokens("busy", input_tokens=-1),
                                          tokens("busy", cost=Decimal("0.25"), request_id="r2")])
    assert [outcome.created for outcome in (outcomes[0], outcomes[2])] == [True, True]
    assert all("journal" in outcome.warning for outcome in (outcomes[0], outcomes[2]))
    assert isinstance(outcomes[1], InvalidInput)  # bad input is refused, never journaled
    assert database.pending_journal() == 2
    [again] = database.record_batch([tokens("busy", cost=Decimal("9"), request_id="r1")])
    assert again == Recorded(outcomes[0].id, created=False)  # the journal was folded first, then this repeat seen
    assert database.pending_journal() == 0
    stats = database.session("busy").stats()
    assert (stats.api_calls, stats.total_cost) == (2, Decimal("0.75"))


def test_a_batch_finds_a_session_by_its_name_or_id_prefix_as_one_record_does_and_refuses_an_ambiguous_one(db):
    database = connect(db)
    database.new_session("Friday broadcast", id="friday-0001")
    database.new_session("Other", id="friday-0002")
    outcomes = database.record_batch([tokens("Friday broadcast", cost=Decimal("0.5")),
                                      tokens("friday-0001", cost=Decimal("0.25")),
                                      tokens("friday-000", cost=Decimal("9"))])
    assert outcomes[0].created and outcomes[1].created
    assert isinstance(outcomes[2], InvalidInput) and outcomes[2].field == "session_id"
    assert table_of(db, "SELECT session_id, sum(estimated_cost) FROM token_usage GROUP BY ALL") == [
        ("friday-0001", Decimal("0.75"))]


def test_a_new_session_made_by_a_batch_takes_its_story_and_the_call_linked_to_it(db):
    database = connect(db)
    outcomes = database.record_batch([StoryInput("fresh", "First", id="first"),
                                      tokens("fresh", cost=Decimal("0.1"), story_id="first")], create=True)
    assert [outcome.created for outcome in outcomes] == [True, True] and outcomes[1].warning is None
    stats = database.session("fresh").stats()
    assert (stats.story_count, stats.api_calls, stats.total_cost) == (1, 1, Decimal("0.1"))


def test_a_large_batch_lands_whole_with_its_repeats_told_apart(db):
    database = connect(db)
    database.new_session("Large", id="large")
    outcomes = database.record_batch([tokens("large", n, 1, cost=Decimal("0.001"), request_id=f"r{n % 2000}")
                                      for n in range(2500)])
    assert sum(outcome.created for outcome in outcomes) == 2000
    assert [outcome.id for outcome in outcomes[2000:]] == [outcome.id for outcome in outcomes[:500]]
    stats = database.session("large").stats()
    assert (stats.api_calls, stats.input_tokens, stats.total_cost) == (2000, sum(range(2000)), Decimal("2"))


@pytest.mark.file_only
def test_a_record_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored(db, monkeypatch):
    import sessionstats.ingest.batch_recording as batch_recording

    together = batch_recording._store_together

    def refusing(store, entries, unseen, known):  # as a server refuses a value it cannot take, mid-transaction
        if any(entry.record.request_id == "poison" for entry in entries):
            raise InvalidInput("cost: the server refused it", field="cost")
        return together(store, entries, unseen, known)

    monkeypatch.setattr(batch_recording, "_store_together", refusing)
    database = connect(db)
    database.new_session("Bisect", id="bisect")
    outcomes = database.record_batch([tokens("bisect", cost=Decimal("1"), request_id=f"r{n}") for n in range(5)]
                                     + [tokens("bisect", cost=Decimal("1"), request_id="poison")]
                                     + [tokens("bisect", cost=Decimal("1"), request_id=f"s{n}") for n in range(3)])
    assert [getattr(outcome, "created", None) for outcome in outcomes] == [True] * 5 + [None] + [True] * 3
    assert str(outcomes[5]) == "cost: the server refused it"
    assert database.session("bisect").stats().api_calls == 8


def test_one_open_remembers_the_sessions_its_batches_found_or_made_and_still_refuses_the_rest(db):
    database = connect(db)
    database.new_session("Named", id="named-0001")
    with database.batch_writer() as write:
        made = write(entries_of([tokens("fresh", cost=Decimal("0.1"), request_id="a")], user="alice", create=True))
        later = write(entries_of([tokens("fresh", cost=Decimal("0.2"), request_id="a"),  # found by the first batch
                                  tokens("fresh", cost=Decimal("0.3"), request_id="b"),
                                  tokens("Named", cost=Decimal("0.4")),  # by name: looked up each time
                                  tokens("elsewhere", cost=Decimal("9"))], user="alice", create=False))
        again = write(entries_of([tokens("Named", cost=Decimal("0.5")), tokens("elsewhere", cost=Decimal("9"))],
                                 user="alice", create=False))
    assert made[0].created and later[0] == Recorded(made[0].id, created=False) and later[1].created
    assert later[2].created and again[0].created
    assert isinstance(later[3], SessionNotFound) and isinstance(again[1], SessionNotFound)
    assert table_of(db, "SELECT session_id, sum(estimated_cost) FROM token_usage GROUP BY ALL ORDER BY 1") == [
        ("fresh", Decimal("0.4")), ("named-0001", Decimal("0.9"))]


def test_a_session_whose_batch_was_refused_is_not_remembered_as_made(db, monkeypatch):
    import sessionstats.ingest.batch_recording as batch_recording

    insert = batch_recording._insert_new

    def refusing(store, placed, unseen, making):  # the server refuses the batch that would have made "ghost"
        if any(entry.record.request_id == "poison" for _, entry, _ in placed):
            raise InvalidInput("cost: the server refused it", field="cost")
        return insert(store, placed, unseen, making)

    monkeypatch.setattr(batch_recording, "_insert_new", refusing)
    database = connect(db)
    with database.batch_writer() as write:
        [refused] = write(entries_of([tokens("ghost", cost=Decimal("1"), request_id="poison")], user="alice",
                                     create=True))
        [missing] = write(entries_of([tokens("ghost", cost=Decimal("1"))], user="alice", create=False))
    assert isinstance(refused, InvalidInput) and isinstance(missing, SessionNotFound)
    assert table_of(db, "SELECT count(*) FROM sessions") == [(0,)]


def test_repeats_within_a_batch_are_told_apart_by_kind_session_and_id(db):
    database = connect(db)
    for name in ("one", "two"):
        database.new_session(name, id=name)
    outcomes = database.record_batch([
        tokens("one", cost=Decimal("0.1"), request_id="same"),
        tokens("two", cost=Decimal("0.2"), request_id="same"),    # another session: new
        StoryInput("one", "Same", id="same"),                     # a story's id is not a request id: new
        tokens("one", cost=Decimal("0.3"), request_id="same"),    # repeats the first
        StoryInput("two", "Same", id="same"),                     # another session: new
        StoryInput("one", "Same again", id="same"),               # repeats the story
        tokens("one", cost=Decimal("0.4")),                        # no request id: never a repeat
        tokens("one", cost=Decimal("0.5")),
    ])
    assert [outcome.created for outcome in outcomes] == [True, True, True, False, True, False, True, True]
    assert outcomes[3] == Recorded(outcomes[0].id, created=False)
    assert outcomes[5] == Recorded("same", created=False)
    assert table_of(db, "SELECT session_id, sum(estimated_cost) FROM token_usage GROUP BY ALL ORDER BY 1") == [
        ("one", Decimal("1.0")), ("two", Decimal("0.2"))]
