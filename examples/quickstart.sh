#!/usr/bin/env bash
# Record a small narration session into a database of its own (never your default one) and show its statistics.
# Costs are what Claude Sonnet 4.5 charges: $3 / M input, $15 / M output, $0.30 / M cache reads,
# $3.75 / M cache writes.
set -euo pipefail

# Its own database, in a folder the quick start makes (QUICKSTART_DIR chooses another); it says where at the end.
folder="${QUICKSTART_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sessionstats-quickstart.XXXXXX")}"
mkdir -p "$folder"
export SESSIONSTATS_DB="$folder/quickstart.duckdb"

export SESSIONSTATS_SESSION=$(sessionstats new "Harbour radio: morning broadcast" --setting voice=alloy --setting language=en)
sessionstats start "$SESSIONSTATS_SESSION"

record() {  # title tone priority seconds narrative input output cache_read cache_write cost request_id
  local story
  story=$(sessionstats record-story --title "$1" --tone "$2" --priority "$3" --duration "$4" --narrative "$5")
  sessionstats record-tokens --story "$story" --model claude-sonnet-4-5 \
    --input "$6" --output "$7" --cache-read "$8" --cache-write "$9" --cost "${10}" --request-id "${11}" >/dev/null
}

record "Fog over the harbour" calm normal 41.5 \
  "The fog rolled in before dawn, and the harbour lights blinked out one by one as the first boats left." \
  1850 420 0 6200 0.0351 req_01
record "The lighthouse keeper" warm normal 63.0 \
  "Old Marta climbed the spiral stairs for the last time, counting each of the ninety steps aloud." \
  1210 612 6200 0 0.01467 req_02
record "Storm warning" urgent high 28.2 \
  "Small craft should return to port: winds will rise to force eight by noon, with heavy rain." \
  980 305 6200 0 0.009375 req_03

# One more call that has no story yet (a retry that was cut off) and no given cost: its cost is
# estimated from the model's price at the time (640 x $3 / M + 12 x $15 / M = $0.00210).
sessionstats record-tokens --model claude-sonnet-4-5 --input 640 --output 12 --request-id req_04 >/dev/null

# A saved API response carries its own model, token counts and request id.
response=$(mktemp)
cat > "$response" <<'JSON'
{"id": "msg_01Quickstart", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
 "content": [{"type": "text", "text": "Good evening."}], "stop_reason": "end_turn",
 "usage": {"input_tokens": 420, "cache_read_input_tokens": 6200, "cache_creation_input_tokens": 0, "output_tokens": 9}}
JSON
sessionstats record-tokens --from-response "$response" >/dev/null
rm -f "$response"

sessionstats show "$SESSIONSTATS_SESSION" --format table
echo
sessionstats show "$SESSIONSTATS_SESSION" --format json
echo
echo "The quick start's database is $SESSIONSTATS_DB; look again with" >&2
echo "  SESSIONSTATS_DB=$SESSIONSTATS_DB sessionstats list" >&2
echo "and remove it with: rm -r $folder" >&2
