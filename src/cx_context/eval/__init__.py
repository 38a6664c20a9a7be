"""Evaluations and benchmarks over public data.

This package may import every other one; nothing imports it.
"""
