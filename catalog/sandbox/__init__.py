"""The built-in sandbox supplier: a real HTTP endpoint speaking the Kameng supplier
protocol (docs/supplier-protocol.md), with per-merchant misbehaviour knobs
(SandboxProfile). It serves only merchants of Supplier rows marked is_sandbox, and
signs with their keys, so it can never vouch for a real supplier."""
