"""Benchmarks: catalog imports."""
