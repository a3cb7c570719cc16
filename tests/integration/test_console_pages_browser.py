"""Every console page in Chromium, in Russian and in English, against the running stack: the rendered
text of a Russian page has no English word of the console's own texts left (data such as staff names
is allowed), and the campaign CSV upload → row report → start → pause flow works in Russian."""
from __future__ import annotations

import asyncio
import re

from babel.messages.pofile import read_po
from sqlalchemy import text

from ivr import i18n
from ivr.store.db import open_database
from ivr.users import UserStore
from ivr.terms import TERMS

PAGES = ["/", "/reports/sources", "/reports/load", "/reports/staff", "/reports/missed", "/reports/queues",
         "/reports/trunks", "/reports/campaigns", "/queues", "/missed", "/missed?status=all&short=1", "/calls", "/contacts",
         "/mailbox", "/campaigns", "/campaigns/new", "/plan", "/users", "/phones", "/trunks", "/audit", "/password",
         "/reports"]
# Words that are data or names, never the console's own text.
ALLOWED = {"csv", "xlsx", "vip", "ivr", "api", "admin", "pbx", "mts", "beeline",
           "demo", "mailbox", "port",                   # the setting demo_mailbox_port
           "alerts", "notifications", "yaml"}           # alerts: of notifications.yaml


def english_vocabulary() -> set[str]:
    """Every word of the catalogue's English texts (3 letters or more, lower case)."""
    with (i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    texts = [m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id] + list(TERMS.values())
    return {w.lower() for t in texts for w in re.findall(r"[A-Za-z]{3,}", re.sub(r"%\(\w+\)s", " ", t))}


def data_words(plan) -> set[str]:
    prompts = [p for node in plan.nodes.values() for p in getattr(node, "prompts", ())]   # sound file names
    words = [plan.company, *(s.name for s in plan.staff.values()), *(n.source for n in plan.numbers.values()),
             *plan.nodes, *plan.trunks, *plan.schedules, *prompts, "manager", "olivia", "demo"]
    return {w.lower() for text in words for w in re.findall(r"[A-Za-z]{3,}", text or "")}


async def stored_words(settings) -> set[str]:
    """Words of what other tests stored on this stack (campaign names, plan files, who applied them, the
    audit log's action codes, actors and targets): data, not the console's own text."""
    db = await open_database(settings.database_url, settings)
    try:
        async with db.session() as session:
            texts = [*(await session.execute(text("SELECT name FROM campaigns"))).scalars(),
                     *(await session.execute(text("SELECT source_file FROM plan_versions"))).scalars(),
                     *(await session.execute(text("SELECT applied_by FROM plan_versions"))).scalars(),
                     *(await session.execute(text("SELECT action || ' ' || actor || ' ' || target "
                                                  "FROM audit_log"))).scalars()]
    finally:
        await db.close()
    return {w.lower() for t in texts for w in re.findall(r"[A-Za-z]{3,}", t or "")}


async def detail_pages(settings) -> list[str]:
    """One page of each kind of record other tests left on this stack: a call (with its steps), a
    missed-call item, a campaign."""
    db = await open_database(settings.database_url, settings)
    try:
        async with db.session() as session:
            found = [(prefix, (await session.execute(text(query))).scalar())
                     for prefix, query in (("/calls/", "SELECT max(call_id) FROM call_steps"),
                                           ("/missed/", "SELECT max(id) FROM missed_items"),
                                           ("/campaigns/", "SELECT max(id) FROM campaigns"))]
    finally:
        await db.close()
    return [f"{prefix}{id}" for prefix, id in found if id is not None]


async def add_user(settings, name: str, role: str, language: str) -> None:
    db = await open_database(settings.database_url, settings)
    try:
        store = UserStore(db)
        if name not in {u.username for u in await store.all()}:
            user = await store.add(name, "pages-pass-1", role, extension="102")
            await store.set_language(user.id, language)
    finally:
        await db.close()


async def log_in(browser, service, name: str):
    page = await browser.new_page(viewport={"width": 390, "height": 844})      # a phone screen
    await page.goto(service.url + "/login")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", "pages-pass-1")
    await page.click("button.primary")
    await page.wait_for_url(service.url + "/")
    return page


async def test_every_page_in_russian_has_no_untranslated_text(service, settings, plan, browser):
    await add_user(settings, "manager", "admin", "")           # "": the plan's language, Russian
    page = await log_in(browser, service, "manager")
    vocabulary, allowed = english_vocabulary(), ALLOWED | data_words(plan) | await stored_words(settings)
    leftovers = {}
    for path in PAGES + await detail_pages(settings):
        response = await page.goto(service.url + path)
        assert response.status == 200, path
        assert await page.get_attribute("html", "lang") == "ru"
        text = await page.inner_text("body")
        english = {w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() in vocabulary - allowed}
        if english:
            leftovers[path] = sorted(english)
    assert not leftovers, f"English left on Russian pages: {leftovers}"
    await page.goto(service.url + "/")
    assert "Сегодня" in await page.inner_text("body")


async def test_every_page_in_english(service, settings, browser):
    await add_user(settings, "olivia", "admin", "en")
    page = await log_in(browser, service, "olivia")
    for path in PAGES + await detail_pages(settings):
        response = await page.goto(service.url + path)
        assert response.status == 200, path
        assert await page.get_attribute("html", "lang") == "en"
        # The console's own words (navigation, headings, buttons, labels); data may be in any language.
        own = " ".join(await page.locator("header, th, button, label, h1, h2").all_inner_texts())
        assert not re.search(r"[А-Яа-яЁё]{3,}", own), (path, own[:400])
    await page.goto(service.url + "/")
    assert "Today so far" in await page.inner_text("body")


async def test_campaign_from_a_csv_in_russian(service, settings, browser, world):
    await add_user(settings, "manager", "admin", "")
    page = await log_in(browser, service, "manager")
    await page.goto(service.url + "/campaigns")
    await page.get_by_role("link", name="Новый обзвон").click()
    await page.fill("input[name=name]", "Рейс 101")
    await page.fill("textarea[name=csv]", "ФИО,Телефон,Рейс,Отправление,Место\n"
                                          "Иван Петров,+79161002001,R101,2026-11-25 18:00,1\n"
                                          "Анна Смирнова,12345,R101,2026-11-25 18:00,2\n"
                                          "Олег Сидоров,+79161002003,R101,2026-11-25 18:00,3\n")
    await page.get_by_role("button", name="Проверить строки").click()
    report = await page.inner_text("#check")
    assert "Прочитано строк: 3; можно обзвонить: 2, отклонено: 1" in report, report
    assert await page.locator("tr[data-row='3']").count() == 1            # the bad phone, at its row
    listed = await page.evaluate("fetch('/campaigns').then(r => r.text())")
    assert "Рейс 101" not in listed                                         # nothing stored yet
    world.behaviours["+79161002001"] = world.behaviours["+79161002003"] = world.default_behaviour
    await page.get_by_role("button", name="Сохранить и начать").click()
    await page.wait_for_url(re.compile(r".*/campaigns/\d+\?.*"))
    assert "Сохранено пассажиров: 2." in await page.inner_text("[role=status]")
    assert await page.inner_text("#campaign-status") == "идёт"
    await page.get_by_role("button", name="Приостановить").click()
    await page.wait_for_load_state()
    assert await page.inner_text("#campaign-status") == "на паузе"
    await page.get_by_role("button", name="Отменить").click()
    await page.wait_for_load_state()
    assert await page.inner_text("#campaign-status") == "отменён"
    # The passengers' phones (they never answer here) stop ringing: a cancelled campaign's calls still
    # ringing are hung up by the PBX, not left to ring out.
    passengers = ("+79161002001", "+79161002003")

    async def hung_up() -> None:
        while any(not leg.ended.is_set() for leg in world.incoming if leg.target in passengers):
            await asyncio.sleep(0.2)
    await asyncio.wait_for(hung_up(), 15)


async def test_users_page_adds_changes_and_resets_a_password(service, settings, browser):
    await add_user(settings, "manager", "admin", "")
    page = await log_in(browser, service, "manager")
    await page.goto(service.url + "/users")
    await page.fill("form[action='/users'] input[name=username]", "dima")
    await page.fill("form[action='/users'] input[name=password]", "first-pass-1")
    await page.fill("form[action='/users'] input[name=extension]", "103")
    await page.get_by_role("button", name="Добавить", exact=True).click()
    await page.wait_for_load_state()
    assert "Пользователь dima добавлен." in await page.inner_text("[role=status]")
    row = page.locator("tr[data-user='dima']")
    await row.locator("select[name=role]").select_option("admin")
    await row.get_by_role("button", name="Сохранить").click()
    await page.wait_for_load_state()
    assert await page.locator("tr[data-user='dima'] select[name=role]").input_value() == "admin"
    await page.locator("tr[data-user='dima']").get_by_role("button", name="Новый пароль").click()
    await page.wait_for_load_state()
    password = re.search(r"Новый пароль для dima: (\S+) ", await page.inner_text("[role=status]")).group(1)

    other = await browser.new_page()
    await other.goto(service.url + "/login")
    await other.fill("input[name=username]", "dima")
    await other.fill("input[name=password]", password)
    await other.click("button.primary")
    await other.wait_for_url(service.url + "/")
    assert "dima (администратор)" in await other.inner_text("header")
