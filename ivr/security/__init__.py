"""Who may do what: roles, API tokens, console sessions, login throttling and the audit log."""
