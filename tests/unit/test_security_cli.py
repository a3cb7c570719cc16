"""`ivr tokens`, `ivr users passwd/list` and `ivr audit` on a SQLite database, and the tokens the
service provisions for the AGI script and the `ivr` commands."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ivr.cli import build_parser
from ivr.clock import utc_now
from ivr.config import Settings
from ivr.errors import InvalidInput, NotFound
from ivr.security import local
from ivr.security.tokens import TokenStore
from ivr.store.db import open_database


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings(), database_url=f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}",
                               var_dir=str(tmp_path / "var"))


def run(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.handler(args, settings)


def test_a_token_is_shown_once_listed_without_its_secret_and_revoked(settings, capsys):
    assert run(settings, "tokens", "create", "booking", "--role", "integration", "--expires", "30d") == 0
    secret = capsys.readouterr().out.splitlines()[0]
    assert secret.startswith("ivr_") and len(secret) > 40
    run(settings, "tokens", "list")
    listed = capsys.readouterr().out
    assert "booking" in listed and "integration" in listed and "active" in listed and secret not in listed
    run(settings, "tokens", "revoke", "booking")
    assert "revoked" in capsys.readouterr().out
    run(settings, "tokens", "list", "--all")
    assert "revoked" in capsys.readouterr().out
    with pytest.raises(NotFound):
        run(settings, "tokens", "revoke", "booking")
    run(settings, "audit", "--action", "token.revoke")
    assert "booking" in capsys.readouterr().out


def test_bad_expiry_and_names_are_refused(settings):
    with pytest.raises(InvalidInput, match="--expires"):
        run(settings, "tokens", "create", "x", "--role", "viewer", "--expires", "soon")
    with pytest.raises(InvalidInput, match="in the past"):
        run(settings, "tokens", "create", "x", "--role", "viewer", "--expires", "2020-01-01T00:00+00:00")
    with pytest.raises(InvalidInput, match="token name"):
        run(settings, "tokens", "create", "a b", "--role", "viewer")


def test_users_passwd_and_list(settings, capsys):
    run(settings, "users", "add", "olga", "--role", "ops", "--password", "ops-pass-77")
    with pytest.raises(InvalidInput, match="too weak"):
        run(settings, "users", "passwd", "olga", "--password", "12345678")
    run(settings, "users", "passwd", "olga", "--password", "new-pass-88")
    run(settings, "users", "list")
    assert "olga" in capsys.readouterr().out.splitlines()[-1]
    run(settings, "audit")
    out = capsys.readouterr().out
    assert "user.password" in out and "user.add" in out


async def test_the_service_provisions_its_tokens_and_keeps_a_valid_one(settings):
    db = await open_database(settings.database_url, settings)
    try:
        await local.provision(settings, db)
        agi = local.token_path(settings, local.AGI_TOKEN).read_text().strip()
        cli = local.token_path(settings, local.CLI_TOKEN)
        assert oct(cli.stat().st_mode & 0o777) == "0o600"
        tokens = TokenStore(db)
        assert (await tokens.verify(agi, utc_now())).role == "system"
        await local.provision(settings, db)                         # still valid: kept
        assert local.token_path(settings, local.AGI_TOKEN).read_text().strip() == agi
        await tokens.revoke("service-agi", utc_now())
        await local.provision(settings, db)                         # revoked: replaced
        fresh = local.token_path(settings, local.AGI_TOKEN).read_text().strip()
        assert fresh != agi and (await tokens.verify(fresh, utc_now())).role == "system"
        assert local.local_headers(settings)["Authorization"].startswith("Bearer ivr_")
    finally:
        await db.close()
