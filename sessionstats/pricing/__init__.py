"""Pricing: what a call costs and how that was worked out (genai-prices plus sourced overrides)."""
