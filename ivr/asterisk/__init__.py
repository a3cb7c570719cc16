"""Asterisk as a process: configuration rendering (render.py) and start/stop (process.py)."""
