"""The web API and console (aiohttp). Handlers parse, call one service, serialise."""
