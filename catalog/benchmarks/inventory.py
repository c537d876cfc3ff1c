"""Benchmarks: catalog inventory."""
