"""Import a user's existing LLM history: Claude Code's project logs and the llm tool's logs database."""
