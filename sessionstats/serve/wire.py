"""The page's JSON: the CLI's figures with exact costs as decimal STRINGS, so JavaScript never rounds them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from sessionstats.display.render import exact_text


def plain(value: Any) -> Any:
    """A result (dataclass with as_dict, dict, list) as JSON values: Decimal -> "0.000123", times -> ISO UTC."""
    if hasattr(value, "as_dict"):
        return plain(value.as_dict())
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return exact_text(value)
    if isinstance(value, datetime):
        return exact_text(value if value.tzinfo else value.replace(tzinfo=UTC), UTC)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


class JSONExact(Response):
    """A JSON response of `plain` values."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(plain(content), ensure_ascii=False, allow_nan=False).encode("utf-8")
