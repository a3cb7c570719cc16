"""Outbound campaigns: the PBX calls passengers to confirm a trip or announce a change.

Roles: `model` (plain data), `config` (campaign profiles from YAML), `importer` (CSV with a
validation report), `scheduler` (when a row may be called), `store` (rows, attempts, claiming),
`dialer` (pacing, originate, reconciliation), `flow` (what the passenger hears and presses).
"""
