"""Russia's time zones as a ticket names them: "по московскому времени", "Moscow time".

A zone is named by its main city (zones of one offset share a name, as timetables do); any other
zone is "local time of departure", which is still true and never a wrong city.
"""
from __future__ import annotations

# IANA zone -> (slug of the prompt name, Russian adjective in the dative, English city)
ZONES: dict[str, tuple[str, str, str]] = {
    "Europe/Kaliningrad": ("kaliningrad", "калининградскому", "Kaliningrad"),
    "Europe/Moscow": ("moscow", "московскому", "Moscow"),
    "Europe/Simferopol": ("moscow", "московскому", "Moscow"),
    "Europe/Kirov": ("moscow", "московскому", "Moscow"),
    "Europe/Volgograd": ("moscow", "московскому", "Moscow"),
    "Europe/Samara": ("samara", "самарскому", "Samara"),
    "Europe/Ulyanovsk": ("samara", "самарскому", "Samara"),
    "Europe/Saratov": ("samara", "самарскому", "Samara"),
    "Europe/Astrakhan": ("samara", "самарскому", "Samara"),
    "Asia/Yekaterinburg": ("yekaterinburg", "екатеринбургскому", "Yekaterinburg"),
    "Asia/Omsk": ("omsk", "омскому", "Omsk"),
    "Asia/Novosibirsk": ("novosibirsk", "новосибирскому", "Novosibirsk"),
    "Asia/Barnaul": ("novosibirsk", "новосибирскому", "Novosibirsk"),
    "Asia/Tomsk": ("novosibirsk", "новосибирскому", "Novosibirsk"),
    "Asia/Novokuznetsk": ("krasnoyarsk", "красноярскому", "Krasnoyarsk"),
    "Asia/Krasnoyarsk": ("krasnoyarsk", "красноярскому", "Krasnoyarsk"),
    "Asia/Irkutsk": ("irkutsk", "иркутскому", "Irkutsk"),
    "Asia/Chita": ("yakutsk", "якутскому", "Yakutsk"),
    "Asia/Yakutsk": ("yakutsk", "якутскому", "Yakutsk"),
    "Asia/Vladivostok": ("vladivostok", "владивостокскому", "Vladivostok"),
    "Asia/Sakhalin": ("magadan", "магаданскому", "Magadan"),
    "Asia/Magadan": ("magadan", "магаданскому", "Magadan"),
    "Asia/Srednekolymsk": ("magadan", "магаданскому", "Magadan"),
    "Asia/Kamchatka": ("kamchatka", "камчатскому", "Kamchatka"),
    "Asia/Anadyr": ("kamchatka", "камчатскому", "Kamchatka"),
}
LOCAL = "local"


def zone_prompt(zone: str) -> str:
    """The prompt name that says "<zone> time"."""
    return f"say/tz-{ZONES[zone][0] if zone in ZONES else LOCAL}"


def zone_label(zone: str, lang: str) -> str:
    """The same words as text, for screens and exports."""
    if zone not in ZONES:
        return "по местному времени отправления" if lang == "ru" else "local time of departure"
    _slug, ru, en = ZONES[zone]
    return f"по {ru} времени" if lang == "ru" else f"{en} time"


def words(lang: str) -> dict[str, str]:
    """Prompt name -> text of every zone phrase, for espeak-ng."""
    out = {f"say/tz-{slug}": zone_label(zone, lang) for zone, (slug, _ru, _en) in ZONES.items()}
    out[f"say/tz-{LOCAL}"] = zone_label("", lang)
    return out
