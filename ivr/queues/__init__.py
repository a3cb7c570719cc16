"""Queues: callers waiting in line for agents (manager), agent states and selection (agents),
statistics (stats), what waiting callers hear (announce), call-back keeping the place (callback)."""
