"""Ingest: every way records come in (files, API responses, SDK capture, agents' logs), each validated with the shared
field rules and deduplicated before the store takes it."""
