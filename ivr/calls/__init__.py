"""Calls: one asyncio task per call (supervisor.py) around a CallSession (session.py)."""
