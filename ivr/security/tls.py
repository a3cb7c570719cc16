"""HTTPS for the console: the TLS context of the `tls_cert` / `tls_key` settings, checked at start."""
from __future__ import annotations

import ssl

from ivr.config import Settings
from ivr.errors import ConfigError


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """None when TLS is off (both settings empty); a ConfigError naming the setting when half set,
    a file is missing or the pair does not load."""
    if not settings.tls_cert and not settings.tls_key:
        return None
    if not settings.tls_cert or not settings.tls_key:
        raise ConfigError("tls_cert and tls_key: set both (PEM certificate and its key) or neither")
    cert, key = settings.path(settings.tls_cert), settings.path(settings.tls_key)
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if not path.is_file():
            raise ConfigError(f"{name}: {path} does not exist")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as e:
        raise ConfigError(f"tls_cert / tls_key: {cert} and {key} do not load as a PEM certificate and key: {e}") from None
    return context
