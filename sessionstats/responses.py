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
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.validate import check_count

SHAPES = ("Anthropic Messages JSON or event stream, OpenAI Chat Completions JSON or stream with usage, "
          "OpenAI Responses JSON or stream")
_OPTION = "response"


@dataclass(frozen=True)
class ResponseUsage:
    """What one API response says it used."""

    shape: str
    model: str | None
    request_id: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # of cache_write_tokens


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
    return usage


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


def _from_stream(events: Iterator[dict[str, Any]]) -> ResponseUsage:
    """Fold a server-sent-event stream: Anthropic usage arrives in message_start and message_delta."""
    message: dict[str, Any] | None = None
    usage: dict[str, Any] = {}
    chat: tuple[dict[str, Any], dict[str, Any]] | None = None
    saw_chat_chunk = False
    for event in events:
        kind = event.get("type") or event.get("object")
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = event["message"]
            usage = dict(message.get("usage") or {})
        elif kind == "message_delta" and isinstance(event.get("usage"), dict):
            usage.update({k: v for k, v in event["usage"].items() if v is not None})  # cumulative counts
        elif kind == "chat.completion.chunk":
            saw_chat_chunk = True
            if isinstance(event.get("usage"), dict):
                chat = (event, event["usage"])
        elif kind == "response.completed" and isinstance(event.get("response"), dict):
            return _from_document(event["response"])
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


def _anthropic(shape: str, message: dict[str, Any], usage: dict[str, Any]) -> ResponseUsage:
    written, written_1h = _anthropic_cache_writes(usage)
    return ResponseUsage(
        shape=shape, model=_text(message.get("model")), request_id=_text(message.get("id")),
        input_tokens=_count(usage, "input_tokens"), output_tokens=_count(usage, "output_tokens"),
        cache_read_tokens=_count(usage, "cache_read_input_tokens"),
        cache_write_tokens=written, cache_write_1h_tokens=written_1h,
    )


def _anthropic_cache_writes(usage: dict[str, Any]) -> tuple[int, int]:
    """(all cache writes, the 1-hour ones): the total, else the sum of the `cache_creation` split."""
    split = usage.get("cache_creation")
    split = split if isinstance(split, dict) else {}
    five_minutes, one_hour = _count(split, "ephemeral_5m_input_tokens"), _count(split, "ephemeral_1h_input_tokens")
    has_total = usage.get("cache_creation_input_tokens") is not None
    written = _count(usage, "cache_creation_input_tokens") if has_total else five_minutes + one_hour
    if one_hour > written:
        raise InvalidInput(f"{_OPTION}: the response says {one_hour} of {written} cache write tokens were "
                           "1-hour writes")
    return written, one_hour


def _chat_completions(shape: str, document: dict[str, Any], usage: dict[str, Any]) -> ResponseUsage:
    # OpenAI's prompt_tokens includes the cached ones; ours does not.
    prompt = _count(usage, "prompt_tokens")
    cached = _count(usage.get("prompt_tokens_details") or {}, "cached_tokens")
    return ResponseUsage(
        shape=shape, model=_text(document.get("model")), request_id=_text(document.get("id")),
        input_tokens=_uncached(prompt, cached), output_tokens=_count(usage, "completion_tokens"),
        cache_read_tokens=cached,
    )


def _responses(shape: str, document: dict[str, Any], usage: dict[str, Any]) -> ResponseUsage:
    total_input = _count(usage, "input_tokens")
    cached = _count(usage.get("input_tokens_details") or {}, "cached_tokens")
    return ResponseUsage(
        shape=shape, model=_text(document.get("model")), request_id=_text(document.get("id")),
        input_tokens=_uncached(total_input, cached), output_tokens=_count(usage, "output_tokens"),
        cache_read_tokens=cached,
    )


def _uncached(total: int, cached: int) -> int:
    if cached > total:
        raise InvalidInput(f"{_OPTION}: the response says {cached} of {total} input tokens were cached")
    return total - cached


def _count(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    if value is None:
        return 0
    try:
        return check_count(value, f"usage.{key}")  # the field rule every path shares: 12.0 is 12, 12.5 refused
    except InvalidInput as error:
        raise InvalidInput(f"{_OPTION}: {error}", field="response") from None


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _json_object(body: str) -> dict[str, Any] | None:
    """The body as one JSON object, or None when it is something else (such as an event stream)."""
    try:
        document = json.loads(body)
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
            event = json.loads(payload)
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
