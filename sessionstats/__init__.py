"""sessionstats: record what LLM-driven generators produce and cost, per session, and report on it."""

__version__ = "0.1.0"
