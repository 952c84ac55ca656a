"""`track(client)` records every call of the real Anthropic and OpenAI SDKs, served by a mocked transport.

Each response body is a recorded-format fixture (tests/fixtures/responses/, written from the providers'
documented formats). A tracked call must store exactly the row `record-tokens --from-response` stores
for the same response, and the caller must see exactly what an untracked client sees.
"""

from __future__ import annotations

import asyncio
import gzip
import importlib
import json
import warnings
from pathlib import Path

import pytest
from conftest import table_of
from typer.testing import CliRunner

import sessionstats
from sessionstats.cli import app

anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
MESSAGES = [{"role": "user", "content": "A story about a harbour"}]
ROW = ("model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, "
       "total_tokens, estimated_cost, cost_source, request_id, story_id")


def http_library(sdk):
    """httpx or httpx2: the library the SDK's own client is built on, for its MockTransport."""
    client = sdk.Anthropic(api_key="k") if sdk is anthropic else sdk.OpenAI(api_key="k")
    base = next(kind for kind in type(client._client).__mro__ if kind.__module__.startswith("httpx"))
    return importlib.import_module(base.__module__.split(".")[0])


class Served:
    """A mocked API: answers every request with one fixture, and keeps the requests it saw."""

    def __init__(self, fixture: str, status: int = 200) -> None:
        self.body = (FIXTURES / fixture).read_bytes()
        self.kind = "text/event-stream" if fixture.endswith(".sse") else "application/json"
        self.status = status
        self.requests: list = []
        self.asynchronous = False
        self.whole = False  # True: the body as one bytes object, which httpx reads before any hook runs

    def __call__(self, request):
        """The body gzipped and sent in small pieces as it arrives off a network, not read in advance."""
        self.requests.append(request)
        lib = importlib.import_module(type(request).__module__.split(".")[0])
        if self.whole:
            return lib.Response(self.status, headers={"content-type": self.kind}, content=self.body)
        packed = gzip.compress(self.body)
        pieces = [packed[i:i + 97] for i in range(0, len(packed), 97)]
        return lib.Response(self.status, headers={"content-type": self.kind, "content-encoding": "gzip",
                                                  "request-id": "req_header_1", "x-request-id": "req_header_1"},
                            content=_arrive(pieces) if self.asynchronous else iter(pieces))

    def client(self, sdk, *, asynchronous: bool = False):
        self.asynchronous = asynchronous
        lib = http_library(sdk)
        http = (lib.AsyncClient if asynchronous else lib.Client)(transport=lib.MockTransport(self))
        if sdk is anthropic:
            kind = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        else:
            kind = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        return kind(api_key="test-key", http_client=http, max_retries=0)


async def _arrive(pieces):
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


def anthropic_create(client):
    return client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES).content[0].text


def anthropic_create_stream(client):
    return [event.type for event in client.messages.create(model="claude-sonnet-4-6", max_tokens=1024,
                                                           messages=MESSAGES, stream=True)]


def anthropic_stream_helper(client):
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES) as stream:
        return stream.get_final_message().usage.output_tokens


def chat_create(client):
    return client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content


def chat_create_stream(client):
    chunks = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True})
    return [len(chunk.choices) for chunk in chunks]


def responses_create(client):
    return client.responses.create(model="gpt-4o", input="A story about a harbour").output_text


def responses_create_stream(client):
    return [event.type for event in client.responses.create(model="gpt-4o", input="hi", stream=True)]


async def anthropic_create_async(client):
    message = await client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES)
    return message.content[0].text


async def anthropic_create_stream_async(client):
    stream = await client.messages.create(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES,
                                          stream=True)
    return [event.type async for event in stream]


async def anthropic_stream_helper_async(client):
    async with client.messages.stream(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES) as stream:
        return (await stream.get_final_message()).usage.output_tokens


async def chat_create_async(client):
    completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    return completion.choices[0].message.content


async def chat_create_stream_async(client):
    chunks = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                                  stream_options={"include_usage": True})
    return [len(chunk.choices) async for chunk in chunks]


async def responses_create_async(client):
    return (await client.responses.create(model="gpt-4o", input="A story about a harbour")).output_text


async def responses_create_stream_async(client):
    stream = await client.responses.create(model="gpt-4o", input="hi", stream=True)
    return [event.type async for event in stream]


CALLS = [
    ("anthropic", "anthropic_message.json", anthropic_create, anthropic_create_async),
    ("anthropic", "anthropic_message_cache_1h.json", anthropic_create, anthropic_create_async),
    ("anthropic", "anthropic_stream.sse", anthropic_create_stream, anthropic_create_stream_async),
    ("anthropic", "anthropic_stream_cache_1h.sse", anthropic_stream_helper, anthropic_stream_helper_async),
    ("openai", "openai_chat_completion.json", chat_create, chat_create_async),
    ("openai", "openai_chat_stream.sse", chat_create_stream, chat_create_stream_async),
    ("openai", "openai_response.json", responses_create, responses_create_async),
    ("openai", "openai_response_stream.sse", responses_create_stream, responses_create_stream_async),
]


@pytest.fixture
def database(tmp_path, monkeypatch):
    path = tmp_path / "stats.duckdb"
    monkeypatch.setenv("SESSIONSTATS_DB", str(path))
    monkeypatch.setenv("SESSIONSTATS_USER", "alice")
    return path


def cli_row(path: Path, fixture: str) -> tuple:
    """The row `record-tokens --from-response` stores for the fixture, in a session of its own."""
    result = CliRunner().invoke(app, ["record-tokens", "-s", "by-cli", "--create", "--from-response",
                                      str(FIXTURES / fixture), "--db", str(path), "--user", "alice"])
    assert result.exit_code == 0, result.output
    return table_of(path, f"SELECT {ROW} FROM token_usage WHERE session_id = 'by-cli'")[0]


def tracked_rows(path: Path) -> list[tuple]:
    return table_of(path, f"SELECT {ROW} FROM token_usage WHERE session_id = 'tracked' ORDER BY created_at")


def untracked_result(provider: str, fixture: str, call, asynchronous: bool):
    client = Served(fixture).client(anthropic if provider == "anthropic" else openai, asynchronous=asynchronous)
    return asyncio.run(call(client)) if asynchronous else call(client)


@pytest.mark.parametrize(("provider", "fixture", "sync_call", "async_call"), CALLS,
                         ids=[f"{case[0]}-{case[1]}" for case in CALLS])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_tracked_call_stores_what_from_response_stores_and_returns_what_it_always_did(
        database, provider, fixture, sync_call, async_call, asynchronous):
    call = async_call if asynchronous else sync_call
    session = sessionstats.connect().new_session("tracked", id="tracked")
    served = Served(fixture)
    client = sessionstats.track(served.client(anthropic if provider == "anthropic" else openai,
                                              asynchronous=asynchronous), session=session)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sessionstats.TrackWarning)  # a recording failure
        seen = asyncio.run(call(client)) if asynchronous else call(client)
    assert seen == untracked_result(provider, fixture, call, asynchronous)
    assert tracked_rows(database) == [cli_row(database, fixture)]
    assert len(served.requests) == 1


def test_the_call_is_stored_at_the_time_it_was_made_with_the_response_s_own_id(database):
    session = sessionstats.connect().new_session(id="tracked")
    client = sessionstats.track(Served("anthropic_message.json").client(anthropic), session=session)
    anthropic_create(client)
    stats = session.stats()
    row = table_of(database, "SELECT request_id, model FROM token_usage")
    assert row == [("msg_01XFDUDYJgAACzvnptvVoYEL", "claude-sonnet-4-5-20250929")]
    assert stats.api_calls == 1 and stats.first_record_at.tzinfo is not None


def test_calls_made_inside_a_story_are_linked_to_it_and_the_story_is_recorded(database):
    session = sessionstats.connect().new_session(id="tracked")
    client = sessionstats.track(Served("openai_chat_completion.json").client(openai), session=session)
    with session.story("Harbour at dawn", tone="calm") as story:
        story.narrative = chat_create(client)
    responses_create(Served("openai_response.json").client(openai))  # untracked: not recorded
    assert table_of(database, "SELECT id, title, tone, narrative FROM story_history") == [
        (story.id, "Harbour at dawn", "calm", story.narrative)]
    assert story.narrative and story.recorded.created
    assert table_of(database, "SELECT story_id FROM token_usage") == [(story.id,)]


def test_a_chat_stream_without_usage_is_left_as_the_caller_asked_and_reported_with_a_warning(database, tmp_path):
    body = "".join(line + "\n" for line in (FIXTURES / "openai_chat_stream.sse").read_text().splitlines()
                   if '"usage":{' not in line)
    (tmp_path / "no_usage.sse").write_text(body)
    served = Served("openai_chat_stream.sse")
    served.body = body.encode()
    session = sessionstats.connect().new_session(id="tracked")
    client = sessionstats.track(served.client(openai), session=session)
    with pytest.warns(sessionstats.TrackWarning, match="include_usage"):
        chunks = [chunk.choices[0].delta.content for chunk in
                  client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)]
    assert chunks == ["", "Hello", None]
    assert "stream_options" not in json.loads(served.requests[0].content)
    assert tracked_rows(database) == []


def test_a_recording_failure_is_a_warning_and_the_call_still_returns(database):
    missing = sessionstats.connect().session("nobody-made-this")
    client = sessionstats.track(Served("anthropic_message.json").client(anthropic), session=missing)
    with pytest.warns(sessionstats.TrackWarning, match="nobody-made-this"):
        text = anthropic_create(client)
    assert text.startswith("The fog rolled in")


def test_an_api_error_is_the_sdk_s_own_exception_and_records_nothing(database):
    session = sessionstats.connect().new_session(id="tracked")
    served = Served("anthropic_message.json", status=400)
    client = sessionstats.track(served.client(anthropic), session=session)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sessionstats.TrackWarning)
        with pytest.raises(anthropic.BadRequestError):
            anthropic_create(client)
    assert tracked_rows(database) == []


def test_token_counting_is_not_an_api_call_and_is_not_recorded(database):
    session = sessionstats.connect().new_session(id="tracked")
    served = Served("anthropic_message.json")
    served.body = b'{"input_tokens": 12}'
    client = sessionstats.track(served.client(anthropic), session=session)
    client.messages.count_tokens(model="claude-sonnet-4-6", messages=MESSAGES)
    assert tracked_rows(database) == []


def test_tracking_a_client_twice_records_each_call_once_in_the_latest_session(database):
    db = sessionstats.connect()
    first, second = db.new_session(id="first"), db.new_session(id="tracked")
    served = Served("openai_response.json")
    client = sessionstats.track(sessionstats.track(served.client(openai), session=first), session=second)
    responses_create(client)
    assert table_of(database, "SELECT session_id, count(*) FROM token_usage GROUP BY ALL") == [("tracked", 1)]


def test_a_session_id_or_sessionstats_session_records_into_the_default_database(database, monkeypatch):
    sessionstats.connect().new_session(id="tracked")
    client = sessionstats.track(Served("openai_response.json").client(openai), session="tracked")
    responses_create(client)
    monkeypatch.setenv("SESSIONSTATS_SESSION", "tracked")
    chat_create(sessionstats.track(Served("openai_chat_completion.json").client(openai)))
    assert len(tracked_rows(database)) == 2


def test_no_session_given_nor_in_the_environment_is_refused_naming_it(database):
    with pytest.raises(sessionstats.InvalidInput) as refused:
        sessionstats.track(Served("openai_response.json").client(openai))
    assert refused.value.field == "session_id"


def test_something_that_is_not_an_sdk_client_is_refused_naming_the_client(database):
    with pytest.raises(sessionstats.InvalidInput) as refused:
        sessionstats.track(object(), session="tracked")
    assert refused.value.field == "client"


def test_async_calls_in_concurrent_stories_link_each_to_its_own_story(database):
    session = sessionstats.connect().new_session(id="tracked")

    async def one_story(title: str, fixture: str) -> str:
        client = sessionstats.track(Served(fixture).client(anthropic, asynchronous=True), session=session)
        with session.story(title) as story:
            await anthropic_create_async(client)
            await asyncio.sleep(0)
        return story.id

    async def both() -> list[str]:
        return list(await asyncio.gather(one_story("first", "anthropic_message.json"),
                                         one_story("second", "anthropic_message_cache_1h.json")))

    first, second = asyncio.run(both())
    assert sorted(table_of(database, "SELECT story_id, request_id FROM token_usage")) == sorted([
        (first, "msg_01XFDUDYJgAACzvnptvVoYEL"), (second, "msg_01H7kQm2c9TtWx3CacheOneHour")])


def test_a_stream_the_caller_abandons_early_still_records_what_it_reported(database):
    session = sessionstats.connect().new_session(id="tracked")
    client = sessionstats.track(Served("anthropic_stream.sse").client(anthropic), session=session)
    with client.messages.stream(model="claude-sonnet-4-6", max_tokens=1024, messages=MESSAGES) as stream:
        next(iter(stream))  # the caller stops after the first event
    assert [row[9] for row in tracked_rows(database)] == ["msg_014p7gG3wDgGV9EUtLvnow3U"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_body_the_transport_read_before_the_hook_is_recorded_too(database, asynchronous):
    session = sessionstats.connect().new_session(id="tracked")
    served = Served("openai_chat_stream.sse")
    served.whole = True
    client = sessionstats.track(served.client(openai, asynchronous=asynchronous), session=session)
    seen = asyncio.run(chat_create_stream_async(client)) if asynchronous else chat_create_stream(client)
    assert seen == [1, 1, 1, 0]
    assert tracked_rows(database) == [cli_row(database, "openai_chat_stream.sse")]


def test_a_response_the_hook_cannot_read_costs_a_warning_not_the_call(database, monkeypatch):
    session = sessionstats.connect().new_session(id="tracked")
    client = sessionstats.track(Served("anthropic_message.json").client(anthropic), session=session)
    monkeypatch.setattr("sessionstats.tracking._Recorder.wants", lambda self, response: 1 / 0)
    with pytest.warns(sessionstats.TrackWarning, match="ZeroDivisionError"):
        assert anthropic_create(client).startswith("The fog rolled in")
