"""IVR/PBX service for small businesses, on Asterisk 22 through ARI."""
