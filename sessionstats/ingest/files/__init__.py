"""Bulk import of token records and stories from JSON Lines, CSV or TSV files."""

from sessionstats.ingest.files.batch import ImportResult, ImportSource
from sessionstats.ingest.files.sources import ImportFormat, resolve_format
from sessionstats.ingest.files.stories import import_stories
from sessionstats.ingest.files.tokens import import_tokens

__all__ = ["ImportFormat", "ImportResult", "ImportSource", "import_stories", "import_tokens", "resolve_format"]
