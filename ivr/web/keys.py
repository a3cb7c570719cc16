"""Typed keys of the aiohttp application, shared by every handler module."""
from __future__ import annotations

from aiohttp import web

from ivr.service import IvrService

SERVICE = web.AppKey("service", IvrService)
