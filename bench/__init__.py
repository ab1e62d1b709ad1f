"""Benchmarks (see the README's Performance section). Not part of the test suite."""
