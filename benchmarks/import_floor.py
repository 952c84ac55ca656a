"""The least a first import of an agent's JSON-lines logs can cost in this stack (Python and DuckDB, one thread).

One process imports DuckDB, splits every line of the tree as the importers do (DuckDB's CSV reader), parses the
usage fields of the lines that carry usage, keeps one copy per call and writes the calls to a table in a new
database file. Nothing else: no field rules, no check for a key named twice, no prices, no sessions, no file
offsets, no coverage counts. bench_agents.py runs it beside ccusage and `sessionstats import`, so the part of
the gap the stack itself sets can be seen.

    python benchmarks/import_floor.py SOURCE TREE DATABASE   (SOURCE: claude-code, codex, gemini or qwen)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# Per source: the files, the marker of a usage line, the fields read (from_json's shape), and the calls kept:
# one row per call key (the first copy read, as the importers keep one).
_SOURCES = {
    "claude-code": ("projects/**/*.jsonl", '"usage"',
                    {"timestamp": "VARCHAR", "requestId": "VARCHAR",
                     "message": {"id": "VARCHAR", "model": "VARCHAR",
                                 "usage": {"input_tokens": "BIGINT", "output_tokens": "BIGINT",
                                           "cache_creation_input_tokens": "BIGINT",
                                           "cache_read_input_tokens": "BIGINT"}}},
                    "j.message.id || ':' || j.requestId",
                    "j.message.usage.input_tokens, j.message.usage.output_tokens, "
                    "j.message.usage.cache_read_input_tokens, j.message.usage.cache_creation_input_tokens"),
    "codex": ("sessions/**/*.jsonl", '"token_count"',
              {"timestamp": "VARCHAR",
               "payload": {"info": {usage: {"input_tokens": "BIGINT", "cached_input_tokens": "BIGINT",
                                            "output_tokens": "BIGINT"}
                                    for usage in ("last_token_usage", "total_token_usage")}}},
              "filename || ':' || j.payload.info.total_token_usage.input_tokens || ':' "
              "|| j.payload.info.total_token_usage.output_tokens",
              "j.payload.info.last_token_usage.input_tokens - j.payload.info.last_token_usage.cached_input_tokens, "
              "j.payload.info.last_token_usage.output_tokens, j.payload.info.last_token_usage.cached_input_tokens, 0"),
    "gemini": ("**/chats/*.jsonl", '"tokens"',
               {"id": "VARCHAR", "timestamp": "VARCHAR", "model": "VARCHAR",
                "tokens": {"input": "BIGINT", "output": "BIGINT", "cached": "BIGINT", "thoughts": "BIGINT"}},
               "filename || ':' || j.id",
               "j.tokens.input - j.tokens.cached, j.tokens.output + j.tokens.thoughts, j.tokens.cached, 0"),
    "qwen": ("projects/*/chats/*.jsonl", '"usageMetadata"',
             {"uuid": "VARCHAR", "timestamp": "VARCHAR", "model": "VARCHAR",
              "usageMetadata": {"promptTokenCount": "BIGINT", "candidatesTokenCount": "BIGINT",
                                "cachedContentTokenCount": "BIGINT", "thoughtsTokenCount": "BIGINT"}},
             "j.uuid",
             "j.usageMetadata.promptTokenCount - j.usageMetadata.cachedContentTokenCount, "
             "j.usageMetadata.candidatesTokenCount + j.usageMetadata.thoughtsTokenCount, "
             "j.usageMetadata.cachedContentTokenCount, 0"),
}
FLOOR_SOURCES = tuple(_SOURCES)


def main() -> None:
    import duckdb

    source, tree, database = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    pattern, marker, shape, key, counts = _SOURCES[source]
    files = sorted(str(path) for path in tree.glob(pattern))
    con = duckdb.connect(database)
    con.execute("SET threads = 1")
    names = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    columns = ", ".join(f"{count} AS {name}" for count, name in zip(counts.split(", "), names, strict=True))
    con.execute(f"""CREATE TABLE calls AS
        SELECT {key} AS key, try_cast(j.timestamp AS TIMESTAMP) AS created_at, {columns}
        FROM (SELECT filename, try(from_json(text, $shape)) AS j
              FROM read_csv($files, columns = {{'text': 'VARCHAR'}}, header = false, delim = chr(1), quote = '',
                            escape = '', new_line = '\\n', auto_detect = false, strict_mode = false,
                            filename = true)
              WHERE contains(text, $marker))
        WHERE j IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY key) = 1""",
                {"files": files, "shape": json.dumps(shape), "marker": marker})
    print(con.execute("SELECT count(*) FROM calls").fetchone()[0])  # type: ignore[index]
    con.close()


if __name__ == "__main__":
    main()
