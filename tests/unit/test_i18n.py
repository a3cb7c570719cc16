"""Russian and English: every text of the code and the templates has its Russian translation, a page
is in the user's language (saved with the user), and dates are written as people there write them."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from babel.messages.extract import extract_from_dir

from ivr import i18n
from ivr.config import ROOT, load_settings
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.testing.credentials import same_origin
from ivr.users import UserStore
from ivr.web.app import create_app

METHODS = [("ivr/**.py", "python"), ("ivr/web/templates/**.html", "jinja2")]
OPTIONS = {"ivr/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def test_every_text_has_a_russian_translation():
    found = {m[2] if isinstance(m[2], str) else m[2][0]
             for m in extract_from_dir(str(ROOT), METHODS, keywords={"_": None, "gettext": None, "lazy": None,
                                                                         "ngettext": (1, 2)},
                                       options_map=OPTIONS)}
    assert len(found) > 100
    catalogue = i18n.translations("ru")
    missing = sorted(t for t in found if catalogue.gettext(t) == t and t not in ("VIP",))
    assert not missing, f"untranslated (run `make translations`, then translate): {missing}"


def test_the_compiled_catalogue_is_kept_and_read_without_babel(tmp_path, monkeypatch):
    """Compiled once and kept in __pycache__ by the .po's content; later runs read it as it is, and a
    new .po text is compiled again (the older file dropped)."""
    po = tmp_path / "ru" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes((ROOT / "ivr/locale/ru/LC_MESSAGES/messages.po").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        first = i18n.translations("ru").gettext("candidates:")
        assert first != "candidates:"
        kept = list((po.parent / "__pycache__").glob("messages.*.mo"))
        assert len(kept) == 1

        def refuse(*args):
            raise AssertionError("compiled again")
        monkeypatch.setattr(i18n, "_compile", refuse)
        i18n.translations.cache_clear()
        assert i18n.translations("ru").gettext("candidates:") == first
        monkeypatch.undo()
        monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
        po.write_bytes(po.read_bytes().replace(first.encode(), "другие варианты:".encode()))
        i18n.translations.cache_clear()
        assert i18n.translations("ru").gettext("candidates:") == "другие варианты:"
        assert [p.name for p in (po.parent / "__pycache__").glob("messages.*.mo")] != [kept[0].name]
        assert len(list((po.parent / "__pycache__").glob("messages.*.mo"))) == 1
    finally:
        i18n.translations.cache_clear()


def test_dates_as_people_write_them():
    moment = datetime(2026, 12, 7, 10, 10, 5, tzinfo=ZoneInfo("UTC"))
    moscow = ZoneInfo("Europe/Moscow")
    with i18n.language("ru"):
        assert i18n.when(moment, moscow) == "07.12.2026, 13:10"
        assert i18n.clock_time(moment, moscow) == "13:10:05"
        assert i18n.day(moment, moscow).startswith("понедельник, 7 декабря 2026")
    with i18n.language("en"):
        assert i18n.when(moment, moscow) == "12/7/26, 1:10\u202fPM"
    assert i18n.current() == i18n.DEFAULT


@pytest.fixture
async def client(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher")
    service = IvrService(settings, db)
    client = TestClient(TestServer(create_app(service)))
    await client.start_server()
    yield client
    await client.close()
    await db.close()


async def test_the_language_switch_is_saved_with_the_user(client):
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    page = await (await client.get("/missed")).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    origin = same_origin(str(client.make_url("/")))
    await client.post("/language", data={"csrf": csrf, "language": "ru", "next": "/missed"}, headers=origin)
    page = await (await client.get("/missed")).text()
    assert '<html lang="ru">' in page and "Пропущенные" in page and "Выйти" in page
    await client.post("/language", data={"csrf": csrf, "language": "en", "next": "/missed"}, headers=origin)
    page = await (await client.get("/missed")).text()
    assert '<html lang="en">' in page and "Missed calls" in page
