"""Staff phones: do-not-disturb and their feature codes."""
