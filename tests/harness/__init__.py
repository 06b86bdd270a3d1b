"""Shared test and benchmark harness: real servers and real worker processes.

Used by tests/conftest.py and by benchmarks/. Everything binds to loopback, lives in a
temporary directory, and is stopped by the pid this harness started.
"""
