"""Synthetic campaign input for bench/bench_campaign.py: passengers as booking offices export them,
and a small numbering registry whose regions give the callees' time zones.

Phones are written the ways people write them (8 (916) ..., +7 916 ..., 89..., a bare ten-digit
number, landlines with 3- and 4-digit area codes, a few foreign numbers); about 0.3 % of the rows
are broken (short, words instead of a number, empty) and about 1 % repeat a passenger on the same
trip with a second seat, so the importer's report has something to say.
"""
from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

import phonenumbers

FIRST_MALE = ("Александр", "Сергей", "Дмитрий", "Андрей", "Алексей", "Иван", "Михаил", "Николай",
              "Владимир", "Евгений", "Павел", "Артём", "Олег", "Юрий", "Виктор", "Илья")
FIRST_FEMALE = ("Елена", "Ольга", "Наталья", "Татьяна", "Анна", "Мария", "Ирина", "Светлана",
                "Екатерина", "Юлия", "Марина", "Дарья", "Ксения", "Людмила", "Галина", "Софья")
SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
            "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
            "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин")
LATIN = ("John Smith", "Anna Müller", "Li Wei", "Maria Garcia", "Ahmed Hassan", "Emma Johansson",
         "Tomasz Nowak", "Aigerim Nurlanova", "Davron Karimov", "Oksana Bondarenko")
ROUTES = ("Москва — Тверь", "Москва — Владимир", "Москва — Рязань", "Москва — Ярославль",
          "Санкт-Петербург — Великий Новгород", "Новосибирск — Барнаул", "Новосибирск — Томск",
          "Екатеринбург — Тюмень", "Екатеринбург — Челябинск", "Владивосток — Находка",
          "Хабаровск — Комсомольск-на-Амуре", "Калининград — Советск", "Самара — Тольятти",
          "Омск — Павлодар", "Иркутск — Ангарск", "Красноярск — Ачинск")
# Mobile codes and their operators (regions: MOBILE_REGIONS, drawn per range)
MOBILE = (("916", "mts"), ("915", "mts"), ("912", "mts"), ("913", "mts"), ("926", "megafon"),
          ("925", "megafon"), ("923", "megafon"), ("903", "beeline"), ("905", "beeline"),
          ("962", "beeline"), ("950", "tele2"), ("952", "tele2"), ("977", "tele2"), ("999", "yota"))
# Landline area codes: (ABC code, first digit of its subscriber range ("": all), region)
LANDLINE = (("495", "", "г. Москва и Московская область"),
            ("812", "", "г. Санкт-Петербург и Ленинградская область"),
            ("383", "", "Новосибирская обл."), ("343", "", "Свердловская обл."),
            ("423", "", "Приморский край"), ("421", "2", "Хабаровский край"),
            ("401", "2", "Калининградская обл."), ("391", "2", "Красноярский край"))
MOBILE_REGIONS = (("г. Москва и Московская область", 40), ("г. Санкт-Петербург и Ленинградская область", 12),
                  ("Новосибирская обл.", 8), ("Свердловская обл.", 8), ("Приморский край", 6),
                  ("Хабаровский край", 5), ("Калининградская обл.", 5), ("Красноярский край", 5),
                  ("Самарская обл.", 4), ("Омская обл.", 3), ("Иркутская обл.", 3), ("Камчатский край", 1))
OPERATORS = {"mts": ('ПАО "Мобильные ТелеСистемы"', "7740000076"), "megafon": ('ПАО "МегаФон"', "7812014560"),
             "beeline": ('ПАО "ВЫМПЕЛКОМ"', "7713076301"), "tele2": ('ООО "Т2 Мобайл"', "7743895280"),
             "yota": ('ООО "Скартел"', "7701725181"), "rt": ('ПАО "Ростелеком"', "7707049388")}
REGISTRY_HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"
# Belarus, Uzbekistan, Kazakhstan
FOREIGN = ("+375 29 {a}-{b}-{c}", "+998 90 {a} {b} {c}", "+7 701 {a} {b} {c}")
BROKEN = ("8 916 123-45", "уточнить", "тел. нет", "+7 (916) 12", "")


def write_registry(directory: Path) -> list[Path]:
    """ABC and DEF registry files: every mobile code in 100 ranges of 100,000 numbers, each range in
    a region drawn with MOBILE_REGIONS' weights; landline codes in their own region."""
    rng = random.Random(7)
    regions, weights = zip(*MOBILE_REGIONS)
    mobile = [REGISTRY_HEADER]
    for code, operator in MOBILE:
        name, inn = OPERATORS[operator]
        for k in range(100):
            region = rng.choices(regions, weights)[0]
            start, end = k * 100_000, k * 100_000 + 99_999
            mobile.append(f"{code};{start:07d};{end:07d};100000;{name};{region};{region};{inn}")
    landline = [REGISTRY_HEADER]
    name, inn = OPERATORS["rt"]
    for code, first, region in LANDLINE:
        start, end = (int(first) * 1_000_000, int(first) * 1_000_000 + 999_999) if first else (0, 9_999_999)
        landline.append(f"{code};{start:07d};{end:07d};{end - start + 1};{name};{region};{region};{inn}")
    paths = []
    for file, lines in (("DEF-9xx-bench.csv", mobile), ("ABC-bench.csv", landline)):
        path = directory / file
        path.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode("utf-8"))
        paths.append(path)
    return paths


def _phone(rng: random.Random) -> str:
    """A valid number, written as a person would."""
    while True:
        roll = rng.random()
        if roll < 0.02:
            a, b, c = rng.randrange(100, 1000), rng.randrange(10, 100), rng.randrange(10, 100)
            text = rng.choice(FOREIGN).format(a=a, b=b, c=c)
            if phonenumbers.is_valid_number(phonenumbers.parse(text)):
                return text
            continue
        if roll < 0.15:
            code, first, _ = rng.choice(LANDLINE)
            rest = first + "".join(str(rng.randrange(10)) for _ in range(7 - len(first)))
            national = code + rest
        else:
            code, _ = rng.choice(MOBILE)
            national = code + f"{rng.randrange(10_000_000):07d}"
        if phonenumbers.is_valid_number(phonenumbers.parse("+7" + national)):
            break
    n = national
    style = rng.randrange(7)
    if style == 0:
        return f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}"
    if style == 1:
        return f"+7 {n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"
    if style == 2:
        return "8" + n
    if style == 3:
        return f"+7({n[:3]}){n[3:]}"
    if style == 4:
        return f"7 {n[:3]} {n[3:6]}-{n[6:]}"
    if style == 5 and code in ("401", "421", "391"):
        return f"8 ({n[:4]}) {n[4:6]}-{n[6:8]}-{n[8:]}"     # 4-digit area codes as written locally
    return f"{n[:3]} {n[3:6]} {n[6:8]} {n[8:]}"


def passengers_csv(rows: int, seed: int = 1, start: datetime = datetime(2026, 11, 26)) -> str:
    """`rows` data rows with a header, `;`-separated as Russian spreadsheets export: about 45
    passengers a trip, departures over three days from `start`."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(("ФИО", "Телефон", "Рейс", "Маршрут", "Отправление", "Место", "Автобус", "Перрон", "Язык"))
    written: list[tuple[str, ...]] = []
    trip_count = max(1, rows // 45)
    trips = []
    for t in range(trip_count):
        when = start + timedelta(days=t % 3, minutes=15 * rng.randrange(5 * 4, 24 * 4))
        trips.append((f"R{1000 + t}-{when:%d%m}", rng.choice(ROUTES), when, str(rng.randrange(1, 60)),
                      str(rng.randrange(1, 12))))
    while len(written) < rows:
        roll = rng.random()
        if written and roll < 0.01:
            # the same passenger on the same trip again, with another seat: merged by the importer
            again = list(rng.choice(written[-200:]))
            again[5] = str(rng.randrange(1, 50))
            record = tuple(again)
        else:
            trip_id, route, when, bus, platform = trips[rng.randrange(trip_count)]
            english = rng.random() < 0.08
            if english:
                name = rng.choice(LATIN)
            elif rng.random() < 0.5:
                name = f"{rng.choice(SURNAMES)} {rng.choice(FIRST_MALE)}"
            else:
                name = f"{rng.choice(SURNAMES)}а {rng.choice(FIRST_FEMALE)}"
            phone = rng.choice(BROKEN) if roll > 0.997 else _phone(rng)
            departure = f"{when:%Y-%m-%d %H:%M}" if rng.random() < 0.7 else f"{when:%d.%m.%Y %H:%M}"
            record = (name, phone, trip_id, route, departure, str(rng.randrange(1, 50)), bus, platform,
                      "en" if english else rng.choice(("ru", "ru", "")))
        writer.writerow(record)
        written.append(record)
    return out.getvalue()
