"""Read the model, token counts and request id out of a saved LLM API response.

Understood: Anthropic Messages (a JSON message, or its server-sent-event stream), OpenAI Chat Completions
(JSON, or a stream whose final chunk carries usage) and the OpenAI Responses API (JSON, or its stream).
Counts come out in our convention: `input_tokens` is uncached input, cache reads and writes apart; of
the writes, Anthropic's `usage.cache_creation.ephemeral_1h_input_tokens` were 1-hour ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.ingest.records import TokenUsageInput
from sessionstats.times import storable, utc_now
from sessionstats.validate import SPACE_SEPARATORS, DuplicateKey, check_count, parse_cost, unique_keys

SHAPES = ("Anthropic Messages JSON or event stream, OpenAI Chat Completions JSON or stream with usage, "
          "OpenAI Responses JSON or stream")
_OPTION = "response"


@dataclass(frozen=True)
class ResponsePart:
    """Another billed iteration of the same call (an Anthropic advisor or compaction iteration)."""

    kind: str
    model: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0


@dataclass(frozen=True)
class ResponseUsage:
    """What one API response says it used, and what changes its price."""

    shape: str
    model: str | None
    request_id: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens
    service_tier: str | None = None
    speed: str | None = None
    tool_calls: int = 0  # server tool requests billed per request (web searches)
    reported_cost: Decimal | None = None  # a cost the response states (OpenRouter usage.cost)
    created: datetime | None = None  # the response's own time (naive UTC), when it says
    parts: tuple[ResponsePart, ...] = ()


def parse_response(data: bytes) -> ResponseUsage:
    """The usage in a response document (JSON or a saved event stream, optionally after HTTP headers)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{_OPTION}: the response is not UTF-8 text (bad byte at offset {error.start})") from None
    headers, body = _split_http_headers(text)
    header_id = headers.get("request-id") or headers.get("x-request-id")
    document = _json_object(body)
    usage = _from_document(document) if document is not None else _from_stream(_events(body))
    if usage.request_id is None and header_id:
        usage = replace(usage, request_id=header_id)
    if usage.created is None and headers.get("date"):
        usage = replace(usage, created=_http_date(headers["date"]))
    if usage.reported_cost is None and headers.get("x-litellm-response-cost"):  # LiteLLM proxy's charge
        usage = replace(usage, reported_cost=parse_cost(headers["x-litellm-response-cost"],
                                                        f"{_OPTION}: header x-litellm-response-cost"))
    return usage


def call_parts(taken: ResponseUsage, main: TokenUsageInput) -> list[TokenUsageInput]:
    """The records of one response: its main usage, then one per other billed iteration (same request id).

    The price is taken for the response's own time when it states one (`priced_at_source` says which).
    A cost given for the call (--cost) is the whole call's: its other parts then record $0 given.
    """
    if taken.created is not None:
        main = replace(main, priced_at=taken.created, priced_at_source="response",
                       created_at=main.created_at or taken.created)
    elif main.created_at is None:  # every part of one call gets the same time
        now = utc_now()
        main = replace(main, created_at=now, priced_at=now, priced_at_source="now")
    main = replace(main, speed=taken.speed, tool_calls=taken.tool_calls, reported_cost=taken.reported_cost)
    return [main, *(replace(main, model=part.model, input_tokens=part.input_tokens, output_tokens=part.output_tokens,
                            cache_read_tokens=part.cache_read_tokens, cache_write_tokens=part.cache_write_tokens,
                            cache_write_1h_tokens=part.cache_write_1h_tokens, tool_calls=0, reported_cost=None,
                            call_part=number, cost=None if main.cost is None else Decimal(0))
                    for number, part in enumerate(taken.parts, start=1))]


def _from_document(document: dict[str, Any]) -> ResponseUsage:
    kind = document.get("type") or document.get("object")
    usage = document.get("usage")
    if kind == "error" or (document.get("error") and not isinstance(usage, dict)):
        raise InvalidInput(f"{_OPTION}: the response is an API error, with no usage to record")
    if kind == "message" and isinstance(usage, dict):
        return _anthropic("Anthropic Messages JSON", document, usage)
    if kind == "chat.completion" and isinstance(usage, dict):
        return _chat_completions("OpenAI Chat Completions JSON", document, usage)
    if kind == "response" and isinstance(usage, dict):
        return _responses("OpenAI Responses JSON", document, usage)
    raise _unrecognised()


# A Responses stream ends in one of these; an incomplete (max tokens, content filter) or failed response that
# carries usage was billed and is recorded.
_RESPONSE_ENDS = ("response.completed", "response.incomplete", "response.failed")


def _from_stream(events: Iterator[dict[str, Any]]) -> ResponseUsage:
    """Fold a server-sent-event stream: Anthropic usage arrives in message_start and message_delta."""
    message: dict[str, Any] | None = None
    usage: dict[str, Any] = {}
    chat: tuple[dict[str, Any], dict[str, Any]] | None = None
    saw_chat_chunk = False
    for event in events:
        kind = event.get("type") or event.get("object")
        if kind == "message_start" and event.get("message") is not None:
            message = _object(event, "message", "message_start.message")
            usage = dict(_object(message, "usage", "message_start.message.usage") or {})
        elif kind == "message_delta" and event.get("usage") is not None:
            delta = _object(event, "usage", "message_delta.usage") or {}
            usage.update({k: v for k, v in delta.items() if v is not None})  # cumulative counts
        elif kind == "chat.completion.chunk":
            saw_chat_chunk = True
            if isinstance(event.get("usage"), dict):
                chat = (event, event["usage"])
        elif kind in _RESPONSE_ENDS and isinstance(event.get("response"), dict):
            return _ended_response(kind, event["response"])
        elif kind == "error":
            raise InvalidInput(f"{_OPTION}: the stream ended in an API error, with no usage to record")
    if message is not None:
        return _anthropic("Anthropic Messages stream", message, usage)
    if chat is not None:
        return _chat_completions("OpenAI Chat Completions stream", *chat)
    if saw_chat_chunk:
        raise InvalidInput(f"{_OPTION}: the Chat Completions stream has no usage chunk; "
                           'request one with "stream_options": {"include_usage": true}')
    raise _unrecognised()


def _ended_response(kind: str, response: dict[str, Any]) -> ResponseUsage:
    usage = _object(response, "usage", f"{kind}.response.usage")
    if usage is None:
        raise InvalidInput(f"{_OPTION}: the stream ended in {kind} with no usage to record")
    return _responses("OpenAI Responses stream", response, usage)


def _anthropic(shape: str, message: dict[str, Any], usage: dict[str, Any]) -> ResponseUsage:
    written, written_1h = _anthropic_cache_writes(usage, "usage")
    server_tools = _object(usage, "server_tool_use", "usage.server_tool_use") or {}
    model = _text(message.get("model"))
    return ResponseUsage(
        shape=shape, model=model, request_id=_text(message.get("id")),
        input_tokens=_count(usage, "input_tokens"), output_tokens=_count(usage, "output_tokens"),
        cache_read_tokens=_count(usage, "cache_read_input_tokens"),
        cache_write_tokens=written, cache_write_1h_tokens=written_1h,
        service_tier=_label(usage, "service_tier", "usage"), speed=_label(usage, "speed", "usage"),
        tool_calls=_count(server_tools, "web_search_requests", "usage.server_tool_use"),
        parts=_iterations(usage, model),
    )


def _iterations(usage: dict[str, Any], model: str | None) -> tuple[ResponsePart, ...]:
    """The iterations the top-level usage leaves out: all but the executor's own (`type: message`)."""
    iterations = usage.get("iterations")
    if iterations is None:
        return ()
    if not isinstance(iterations, list):
        raise InvalidInput(f"{_OPTION}: usage.iterations must be a list, got {_shown(iterations)}")
    parts = []
    for number, iteration in enumerate(iterations):
        where = f"usage.iterations[{number}]"
        if not isinstance(iteration, dict):
            raise InvalidInput(f"{_OPTION}: {where} must be an object, got {_shown(iteration)}")
        kind = _label(iteration, "type", where) or "message"
        if kind == "message":
            continue
        written, written_1h = _anthropic_cache_writes(iteration, where)
        parts.append(ResponsePart(
            kind, _label(iteration, "model", where) or model, _count(iteration, "input_tokens", where),
            _count(iteration, "output_tokens", where), _count(iteration, "cache_read_input_tokens", where),
            written, written_1h))
    return tuple(parts)


def _anthropic_cache_writes(usage: dict[str, Any], where: str) -> tuple[int, int]:
    """(all cache writes, the 1-hour ones): the total, else the sum of the `cache_creation` split."""
    split = _object(usage, "cache_creation", f"{where}.cache_creation") or {}
    five_minutes = _count(split, "ephemeral_5m_input_tokens", f"{where}.cache_creation")
    one_hour = _count(split, "ephemeral_1h_input_tokens", f"{where}.cache_creation")
    has_total = usage.get("cache_creation_input_tokens") is not None
    written = _count(usage, "cache_creation_input_tokens", where) if has_total else five_minutes + one_hour
    if one_hour > written:
        raise InvalidInput(f"{_OPTION}: the response says {one_hour} of {written} cache write tokens were "
                           "1-hour writes", field="cache_write_1h_tokens")
    return written, one_hour


def _chat_completions(shape: str, document: dict[str, Any], usage: dict[str, Any]) -> ResponseUsage:
    # OpenAI's prompt_tokens includes the cached ones and the cache writes; ours does not.
    details = _object(usage, "prompt_tokens_details", "usage.prompt_tokens_details") or {}
    return _openai(shape, document, usage, _count(usage, "prompt_tokens"), _count(usage, "completion_tokens"),
                   details, "usage.prompt_tokens_details")


def _responses(shape: str, document: dict[str, Any], usage: dict[str, Any]) -> ResponseUsage:
    details = _object(usage, "input_tokens_details", "usage.input_tokens_details") or {}
    counted = _openai(shape, document, usage, _count(usage, "input_tokens"), _count(usage, "output_tokens"),
                      details, "usage.input_tokens_details")
    output = document.get("output")
    searches = sum(1 for item in output if isinstance(item, dict) and item.get("type") == "web_search_call") \
        if isinstance(output, list) else 0
    return replace(counted, tool_calls=searches)


def _openai(shape: str, document: dict[str, Any], usage: dict[str, Any], total_input: int, output: int,
            details: dict[str, Any], where: str) -> ResponseUsage:
    """Chat Completions and Responses alike: cached and cache-write tokens are inside the input count."""
    cached, written = _count(details, "cached_tokens", where), _count(details, "cache_write_tokens", where)
    return ResponseUsage(
        shape=shape, model=_text(document.get("model")), request_id=_text(document.get("id")),
        input_tokens=_uncached(total_input, cached + written), output_tokens=output,
        cache_read_tokens=cached, cache_write_tokens=written,
        service_tier=_label(document, "service_tier", "response"), reported_cost=_reported_cost(usage),
        created=_epoch(document.get("created") if "created" in document else document.get("created_at")),
    )


def _reported_cost(usage: dict[str, Any]) -> Decimal | None:
    """OpenRouter's `usage.cost`: what the call was charged, in dollars (read from its JSON text, exactly)."""
    cost = usage.get("cost")
    if cost is None:
        return None
    if isinstance(cost, bool) or not isinstance(cost, int | Decimal):
        raise InvalidInput(f"{_OPTION}: usage.cost must be a dollar amount >= 0, got {_shown(cost)}", field="cost")
    return parse_cost(cost, f"{_OPTION}: usage.cost")


def _epoch(value: Any) -> datetime | None:
    """A Unix time in seconds as naive UTC; anything else (absent, odd) is no time."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 253402300800:
        return None
    return storable(datetime.fromtimestamp(value, UTC).replace(tzinfo=None))


def _http_date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return storable(parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed)


def _uncached(total: int, cached: int) -> int:
    if cached > total:
        raise InvalidInput(f"{_OPTION}: the response says {cached} of {total} input tokens were cached or "
                           "written to the cache", field="input_tokens")
    return total - cached


def _count(usage: dict[str, Any], key: str, where: str = "usage") -> int:
    value = usage.get(key)
    if value is None:
        return 0
    try:
        return check_count(value, f"{where}.{key}")  # the rule every path shares: "7" and 12.0 are counts, 12.5 not
    except InvalidInput as error:
        raise InvalidInput(f"{_OPTION}: {error}", field="response") from None


def _object(holder: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    """A nested object, None when absent; any other shape is bad input naming the field."""
    value = holder.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise InvalidInput(f"{_OPTION}: {where} must be an object, got {_shown(value)}", field=key)


def _label(holder: dict[str, Any], key: str, where: str) -> str | None:
    value = holder.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{_OPTION}: {where}.{key} must be text, got {_shown(value)}", field=key)
    return value.strip() or None


def _shown(value: Any) -> str:
    """A short picture of an odd value for the message (never the whole of a huge one)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: Any) -> str | None:
    """A response's model or id as given, for the record's id rules (spaces at its ends dropped, a tab or a newline
    refused, as an import does); blank is none."""
    return value if isinstance(value, str) and value.strip(SPACE_SEPARATORS) else None


def _json_object(body: str) -> dict[str, Any] | None:
    """The body as one JSON object, or None when it is something else (such as an event stream)."""
    try:
        document = json.loads(body, parse_float=Decimal, object_pairs_hook=unique_keys)
    except RecursionError:
        raise InvalidInput(f"{_OPTION}: the response nests too deeply to be an API response") from None
    except DuplicateKey as error:
        raise InvalidInput(f"{_OPTION}: {error}") from None
    except ValueError:
        return None
    if not isinstance(document, dict):
        raise _unrecognised()
    return document


def _events(body: str) -> Iterator[dict[str, Any]]:
    """The JSON objects carried by `data:` lines of a server-sent-event stream."""
    for line in body.splitlines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if not payload or payload == "[DONE]":
            continue
        try:
            event = json.loads(payload, parse_float=Decimal, object_pairs_hook=unique_keys)
        except RecursionError:
            raise InvalidInput(f"{_OPTION}: a data: line of the stream nests too deeply") from None
        except DuplicateKey as error:
            raise InvalidInput(f"{_OPTION}: a data: line of the stream: {error}") from None
        except ValueError:
            raise InvalidInput(f"{_OPTION}: a data: line of the stream is not JSON: {payload[:60]!r}") from None
        if isinstance(event, dict):
            yield event


def _split_http_headers(text: str) -> tuple[dict[str, str], str]:
    """Headers saved with the body (`curl -i`), lower-cased, and the body; none for a bare body."""
    if not text.startswith("HTTP/"):
        return {}, text
    normalised = text.replace("\r\n", "\n")
    head, _, body = normalised.partition("\n\n")
    while body.startswith("HTTP/"):  # `100 Continue` and proxy preambles come first
        head, _, body = body.partition("\n\n")
    headers = {}
    for line in head.splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, body


def _unrecognised() -> InvalidInput:
    return InvalidInput(f"{_OPTION}: not an API response this understands ({SHAPES})")
