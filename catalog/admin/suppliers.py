"""Admin for catalog suppliers."""
