"""Bulk import of token records and stories from JSON Lines, CSV or TSV files."""

from sessionstats.importing.batch import ImportResult, ImportSource
from sessionstats.importing.sources import ImportFormat, resolve_format
from sessionstats.importing.stories import import_stories
from sessionstats.importing.tokens import import_tokens

__all__ = ["ImportFormat", "ImportResult", "ImportSource", "import_stories", "import_tokens", "resolve_format"]
