"""Benchmarks (see README.md); `python -m bench` runs ours vs PostGraphile."""
