"""The roles. Staff accounts (console users) get one of the first four; API tokens any of them."""
from __future__ import annotations

ADMIN, OPS, DISPATCHER, VIEWER, INTEGRATION, SYSTEM = "admin", "ops", "dispatcher", "viewer", "integration", "system"
STAFF_ROLES = (ADMIN, OPS, DISPATCHER, VIEWER)
ROLES = (*STAFF_ROLES, INTEGRATION, SYSTEM)
