"""Helpers for the test suites: the fake ARI, the world simulator, audio checks."""
