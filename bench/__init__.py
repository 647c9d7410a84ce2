"""Benchmarks of the precomputed API against an on-demand Gold SQL baseline (`python -m bench`)."""
