"""Contacts: the small CRM of the missed-call list (names on calls, managers, VIP marks)."""
