"""Helpers shared by the test suite and the benchmarks: running the ``curate`` CLI in a fresh
process, and killing commands at chosen moments to check that they resume.

Not part of the installed package; tests and benchmarks import it from the repository root.
"""
