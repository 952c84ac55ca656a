"""Text made safe to show: no control character reaches a terminal, no raw tab or newline splits a TSV field.

A Claude Code project folder named `ESC ] 0 ; title BEL` set the terminal's title through `list`; a
title holding a tab shifted every later column of `awk -F'\\t'`. Kept apart from render.py so that the
error path (cli/app.py) can use it without importing the formatters.
"""

from __future__ import annotations

_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# C0, DEL and C1 controls, the line and paragraph separators, and the bidirectional controls (which can
# make a terminal show text in another order than it is stored).
_INVISIBLE = [*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, 0x2028, 0x2029,
              *range(0x202A, 0x202F), *range(0x2066, 0x206A)]


def _escape(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_VISIBLE = {code: _escape(code) for code in _INVISIBLE}
# PostgreSQL's COPY text format: backslash escapes that `COPY ... FROM` (and a person) reads back exactly.
_TSV = {ord("\\"): "\\\\", ord("\b"): "\\b", ord("\f"): "\\f", ord("\v"): "\\v",
        **{code: _escape(code) for code in (*range(0x20), 0x7F) if chr(code) not in "\b\f\v"}}

# JSON escapes C0 itself; the rest of the invisible set is written as \uXXXX: the same string, safe to print.
_JSON = {code: f"\\u{code:04x}" for code in _INVISIBLE if code >= 0x7F}


def visible(text: str) -> str:
    """Control characters as escapes a person can read ('\\x1b', '\\n', '\\u202e'); other text unchanged."""
    return text.translate(_VISIBLE)


def tsv_field(text: str) -> str:
    """A TSV field in PostgreSQL's text format: backslash, tab, newline, CR and other C0 controls escaped."""
    return text.translate(_TSV)


def json_safe(encoded: str) -> str:
    """JSON text (from json.dumps) with DEL, C1 and bidirectional controls as \\u escapes: the same value."""
    return encoded.translate(_JSON)
