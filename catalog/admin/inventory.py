"""Admin for catalog inventory."""
