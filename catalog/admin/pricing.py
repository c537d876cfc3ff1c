"""Admin for catalog pricing."""
