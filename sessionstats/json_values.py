"""JSON read the one way every path in reads it: an object that names a key twice is refused (which of its
values counts would be a guess: Python keeps the last, DuckDB the first), and so are NaN and Infinity."""

from __future__ import annotations


class DuplicateKey(ValueError):
    """An object names `key` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} appears twice in the object")
        self.key = key


def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """json.loads' object_pairs_hook: the object as a dict, or DuplicateKey (in linear time: an object may be huge)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return found


def refuse_constant(name: str) -> object:
    """json.loads' parse_constant: NaN, Infinity and -Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not a JSON number")
