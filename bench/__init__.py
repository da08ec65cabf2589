"""Benchmarks: figures and ratios against a peer or a physical bound, printed as one table."""
