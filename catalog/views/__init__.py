"""Custom back-office pages of the catalog (inside the admin layout)."""
