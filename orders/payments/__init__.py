"""Gateway payments for orders and wallet top-ups.

Layers, top to bottom (checked by import-linter, see pyproject.toml):
views / admin → tasks → services (order payments, notifies, sweepers) →
topups → settling (what both settle with) → registry → adapters (sandbox, epay)
→ sandbox_remote (the fake gateway's own side) → base (the gateway interface).
"""
