"""record-tokens --from-response: the fixtures are written from the providers' documented formats."""

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import snapshot, table_of

FIXTURES = Path(__file__).parent / "fixtures" / "responses"
COLUMNS = ("model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens, request_id, "
           "estimated_cost, cost_source")

SHAPES = [
    # Anthropic: input_tokens is already uncached. 1,210 x $3/M + 612 x $15/M + 6,200 x $0.30/M
    ("anthropic_message.json",
     ("claude-sonnet-4-5-20250929", 1210, 612, 6200, 0, 8022, "msg_01XFDUDYJgAACzvnptvVoYEL", Decimal("0.01467"))),
    # Stream: input and cache counts from message_start, output from the last message_delta (cumulative).
    # 1,850 x $3/M + 420 x $15/M + 6,200 x $3.75/M
    ("anthropic_stream.sse",
     ("claude-sonnet-4-5-20250929", 1850, 420, 0, 6200, 8470, "msg_014p7gG3wDgGV9EUtLvnow3U", Decimal("0.0351"))),
    # OpenAI: prompt_tokens 2,006 includes 1,920 cached. 86 x $2.50/M + 1,920 x $1.25/M + 300 x $10/M
    ("openai_chat_completion.json",
     ("gpt-4o-2024-08-06", 86, 300, 1920, 0, 2306, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", Decimal("0.005615"))),
    # Final usage chunk of a stream: 1,500 prompt tokens of which 1,024 cached. gpt-4o-mini: $0.15 / $0.60 /
    # $0.075 per M: 476 x 0.15 + 12 x 0.60 + 1,024 x 0.075 (per M)
    ("openai_chat_stream.sse",
     ("gpt-4o-mini-2024-07-18", 476, 12, 1024, 0, 1512, "chatcmpl-123", Decimal("0.0001554"))),
    # Responses API: input_tokens 5,328 includes 4,096 cached. 1,232 x 2.5 + 4,096 x 1.25 + 52 x 10 (per M)
    ("openai_response.json",
     ("gpt-4o-2024-08-06", 1232, 52, 4096, 0, 5380, "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
      Decimal("0.00872"))),
    # Responses API stream: the response.completed event. 37 x 2.5 + 11 x 10 (per M)
    ("openai_response_stream.sse",
     ("gpt-4o-2024-08-06", 37, 11, 0, 0, 48, "resp_68a1b2c3", Decimal("0.0002025"))),
]


@pytest.mark.parametrize(("fixture", "expected"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_response_shape_gives_model_counts_and_request_id(cli, fixture, expected):
    cli.ok("new", "--id", "s")
    record_id = cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / fixture)).strip()
    assert len(record_id) == 36
    assert table_of(cli.db, f"SELECT {COLUMNS} FROM token_usage") == [(*expected, "estimated")]


ONE_HOUR_SHAPES = [
    # Of 9,000 cache writes 8,000 were 1-hour (usage.cache_creation). 24 x $3/M + 2,000 x $0.30/M
    # + 1,000 x $3.75/M + 8,000 x $6/M + 480 x $15/M = 0.000072 + 0.0006 + 0.00375 + 0.048 + 0.0072
    ("anthropic_message_cache_1h.json", (24, 480, 2000, 9000, 8000, 11504, Decimal("0.059622"))),
    # Stream: the split arrives in message_start. 5 x $3/M + 3,000 x $6/M + 200 x $15/M
    ("anthropic_stream_cache_1h.sse", (5, 200, 0, 3000, 3000, 3205, Decimal("0.021015"))),
]


@pytest.mark.parametrize(("fixture", "expected"), ONE_HOUR_SHAPES, ids=[s[0] for s in ONE_HOUR_SHAPES])
def test_anthropic_1_hour_cache_writes_are_kept_apart_and_priced_as_such(cli, fixture, expected):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / fixture))
    assert table_of(cli.db, "SELECT input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
                            "cache_write_1h_tokens, total_tokens, estimated_cost FROM token_usage") == [expected]


def test_a_response_from_stdin(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", "-",
           input=(FIXTURES / "anthropic_stream.sse").read_text())
    assert table_of(cli.db, "SELECT output_tokens, cache_write_tokens FROM token_usage") == [(420, 6200)]


def test_recording_the_same_response_twice_stores_it_once(cli):
    cli.ok("new", "--id", "s")
    first = cli("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "openai_response.json"))
    again = cli("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "openai_response.json"))
    assert (again.exit_code, again.stdout) == (0, first.stdout)
    assert "recorded already" in again.stderr
    assert table_of(cli.db, "SELECT count(*) FROM token_usage") == [(1,)]


def test_given_model_and_cost_override_the_response(cli):
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_message.json"),
           "--cost", "0.5", "--model", "my-proxy/claude")
    assert table_of(cli.db, "SELECT model, estimated_cost, cost_source FROM token_usage") == [
        ("my-proxy/claude", Decimal("0.5"), "given")]


def test_headers_saved_with_the_body_give_the_request_id_when_the_body_has_none(cli, tmp_path):
    body = (FIXTURES / "openai_chat_completion.json").read_text().replace(
        '"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",', "")
    saved = tmp_path / "with-headers.txt"
    saved.write_text("HTTP/2 200\r\ncontent-type: application/json\r\nx-request-id: req_abc123\r\n\r\n" + body)
    cli.ok("new", "--id", "s")
    cli.ok("record-tokens", "-s", "s", "--from-response", str(saved))
    assert table_of(cli.db, "SELECT request_id, input_tokens FROM token_usage") == [("req_abc123", 86)]


@pytest.mark.parametrize(("document", "message"), [
    ('{"candidates": [], "usageMetadata": {"promptTokenCount": 5}}', "not an API response this understands"),
    ("[1, 2, 3]", "not an API response this understands"),
    ("hello", "not an API response this understands"),
    ('{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}', "is an API error"),
    ('data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[],"usage":null}\n\ndata: [DONE]\n',
     "has no usage chunk"),
    ('{"type": "message", "model": "claude-sonnet-4-5", "usage": {"input_tokens": -4, "output_tokens": 1}}',
     "usage.input_tokens: must be a whole number >= 0"),
    ('{"type": "message", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 1, "output_tokens": 1, '
     '"cache_creation_input_tokens": 10, "cache_creation": {"ephemeral_1h_input_tokens": 11}}}',
     "says 11 of 10 cache write tokens were 1-hour writes"),
])
def test_an_unrecognised_document_is_refused_naming_the_shapes(cli, document, message):
    cli.ok("new", "--id", "s")
    before = snapshot(cli.db)
    result = cli("record-tokens", "-s", "s", "--from-response", "-", input=document)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.startswith("sessionstats: --from-response: ")
    if "understands" in message:
        assert "Anthropic Messages JSON or event stream" in result.stderr
    assert snapshot(cli.db) == before


def test_counts_come_from_the_response_not_the_options(cli):
    cli.ok("new", "--id", "s")
    result = cli("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_message.json"),
                 "--input", "5")
    assert result.exit_code == 2 and "--input: comes from the response" in result.stderr
    one_hour = cli("record-tokens", "-s", "s", "--from-response", str(FIXTURES / "anthropic_message.json"),
                   "--cache-write-1h", "5")
    assert one_hour.exit_code == 2 and "--cache-write-1h: comes from the response" in one_hour.stderr
    assert cli("record-tokens", "-s", "s", "--output", "5").exit_code == 2
    lone = cli("record-tokens", "-s", "s", "--input", "1", "--output", "1", "--pass-through")
    assert lone.exit_code == 2 and "--pass-through: only with --from-response" in lone.stderr


def test_pass_through_copies_the_response_byte_for_byte(run_process):
    assert run_process("new", "--id", "s").returncode == 0
    for fixture in ("anthropic_stream.sse", "openai_chat_completion.json"):
        raw = (FIXTURES / fixture).read_bytes()
        done = run_process("record-tokens", "-s", "s", "--from-response", "-", "--pass-through", input=raw)
        assert done.returncode == 0, done.stderr
        assert done.stdout == raw
        record_id = done.stderr.decode().splitlines()[0]
        assert len(record_id) == 36


def test_pass_through_keeps_bytes_a_text_layer_would_change(run_process):
    assert run_process("new", "--id", "s").returncode == 0
    raw = (FIXTURES / "anthropic_message.json").read_bytes().replace(b"\n", b"\r\n") + b"\r\n\r\n"
    done = run_process("record-tokens", "-s", "s", "--from-response", "-", "--pass-through", input=raw)
    assert (done.returncode, done.stdout) == (0, raw)
