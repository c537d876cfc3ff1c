"""Admin for catalog codes."""
