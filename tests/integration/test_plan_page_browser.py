"""The plan page in Chromium, in Russian: a pasted plan with a mistake shows the problem, in Russian, at
its line and cannot be applied; the path a call would take is told in Russian; a good plan is applied (a
new version, with who applied it), compared with the previous version, and rolled back."""
from __future__ import annotations

import re

from test_console_pages_browser import add_user, log_in


async def test_check_apply_compare_and_roll_back(service, settings, stack_dir, browser):
    await add_user(settings, "manager", "admin", "")
    page = await log_in(browser, service, "manager")
    await page.goto(service.url + "/plan")
    assert "действует" in await page.inner_text("table.versions")

    good = (stack_dir / "ivr.yaml").read_text(encoding="utf-8")
    lines = good.splitlines()
    wrong_at = next(i for i, line in enumerate(lines, start=1) if "next: main_menu" in line)
    broken = good.replace("next: main_menu", "next: main_menuu")
    await page.fill("textarea[name=text]", broken)
    await page.get_by_role("button", name="Проверить", exact=True).click()
    await page.wait_for_load_state()
    bad_line = page.locator(f"pre.checked span[data-line='{wrong_at}']")
    assert "bad" in (await bad_line.get_attribute("class"))
    shown = await bad_line.inner_text()
    assert "неизвестный узел 'main_menuu' (может быть, 'main_menu'?)" in shown and "столбец" in shown, shown
    assert "план нельзя применить" in await page.inner_text("[role=alert]")
    assert await page.get_by_role("button", name="Применить: для новых звонков").count() == 0

    await page.fill("textarea[name=text]", good + "\n# checked in the browser\n")
    await page.get_by_role("button", name="Проверить", exact=True).click()
    await page.wait_for_load_state()
    assert "Ошибок нет" in await page.inner_text("[role=status]")
    # The same plan tried before it goes live: a Wednesday at 13:10, key 1.
    await page.fill("input[name=at]", "2026-11-25 13:10")
    await page.fill("input[name=to]", "+74951110000")
    await page.fill("input[name=digits]", "1")
    await page.get_by_role("button", name="Показать путь").click()
    await page.wait_for_load_state()
    path = await page.inner_text("pre.path")
    assert "по расписанию office в этот момент открыто" in path and "нажимает 1 -> booking" in path
    assert "звонит 101 (Hostess)" in path
    await page.get_by_role("button", name="Применить: для новых звонков").click()
    await page.wait_for_url(re.compile(r".*/plan\?message=.*"))
    status = await page.inner_text("[role=status]")
    applied = int(re.search(r"Версия (\d+) действует", status).group(1))
    row = page.locator(f"table.versions tr[data-version='{applied}']")
    assert "manager" in await row.inner_text() and "действует" in await row.inner_text()
    assert (await service.get("/status"))["plan_version"] == applied

    await page.goto(service.url + f"/plan?a={applied - 1}&b={applied}")
    assert "+# checked in the browser" in await page.inner_text("pre.diff")

    await page.get_by_role("button", name="Вернуть предыдущую версию").click()
    await page.wait_for_url(re.compile(r".*/plan\?message=.*"))
    assert f"Снова действует версия {applied - 1}" in await page.inner_text("[role=status]")
    assert (await service.get("/status"))["plan_version"] == applied - 1
