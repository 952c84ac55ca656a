"""What `record_response` accepts: an SDK response object, a dict, or the JSON / event-stream text itself.

Everything is turned into the bytes `--from-response` reads and handed to `responses.parse_response`, so
the API and the CLI read a response the same way. SDK objects (Anthropic, OpenAI) are pydantic models:
`model_dump()` gives the JSON document; nothing is imported from the SDKs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sessionstats.errors import InvalidInput
from sessionstats.ingest.responses import ResponseUsage, parse_response


def response_usage(response: Any) -> ResponseUsage:
    """The usage one response reports; InvalidInput (field "response") when it is not one this reads.

    A single object may also be a stream's last event (`response.completed`, a usage chunk): it is then
    read as a stream of that one event."""
    data = response_bytes(response)
    try:
        return parse_response(data)
    except InvalidInput as error:
        if _document(response) is not None:
            try:
                return parse_response(b"data: " + data + b"\n\n")
            except InvalidInput:
                pass
        raise InvalidInput(str(error), field="response") from None


def response_bytes(response: Any) -> bytes:
    """The response as the bytes of a saved API response: JSON, or `data:` lines of an event stream."""
    if isinstance(response, bytes | bytearray | memoryview):
        return bytes(response)
    if isinstance(response, str):
        return response.encode("utf-8", "surrogatepass")
    document = _document(response)
    if document is not None:
        return _dumps(document)
    if isinstance(response, Iterable):  # a list of stream events (dicts or SDK event objects)
        events = [_document(event) for event in response]
        if events and all(event is not None for event in events):
            return b"".join(b"data: " + _dumps(event) + b"\n\n" for event in events if event is not None)
    raise InvalidInput(f"response: cannot read a {type(response).__name__} as an API response (give the SDK's "
                       "response object, a dict, or the JSON or event-stream text)", field="response")


def _document(value: Any) -> Mapping[str, Any] | None:
    """A dict, or what an SDK object dumps itself to; None for anything else."""
    if isinstance(value, Mapping):
        return value
    for method in ("model_dump", "to_dict"):
        dump = getattr(value, method, None)
        if callable(dump):
            document = dump(mode="json") if method == "model_dump" else dump()
            if isinstance(document, Mapping):
                return document
    return None


def _dumps(document: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(document, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"response: cannot write it as JSON: {error}", field="response") from None
    except RecursionError:  # as the same document read from its JSON text is refused
        raise InvalidInput("response: the response nests too deeply to be an API response",
                           field="response") from None
