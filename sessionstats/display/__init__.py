"""Formatting for people and for machines, shared by the interfaces (the CLI and the web server)."""
