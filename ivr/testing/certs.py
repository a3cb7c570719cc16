"""A self-signed certificate for tests of the TLS transport (openssl, as an admin would make one)."""
from __future__ import annotations

import subprocess
from pathlib import Path


def make_cert(where: Path, name: str = "pbx.test") -> tuple[Path, Path]:
    cert, key = where / "pbx.crt", where / "pbx.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    f"/CN={name}", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key
