"""Carrier-aware routing: number normalisation, the numbering registry, ported numbers, carrier
lookup and trunk choice. Pure logic and file stores; no Asterisk here."""
