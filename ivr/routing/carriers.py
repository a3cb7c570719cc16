"""Our carrier keys, and how operator names, ИНН, ported-database owner ids, E.164 prefixes and
phonenumbers' carrier names map onto them.

Built-in facts (ИНН, MNC, the Ukrainian mobile codes) live here; config/numbering/operators.yaml
adds the editable name table and may override or extend the rest.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from ivr.errors import ConfigError
from ivr.plan.keys import CARRIER_KEY

# ИНН is the stable key: operator names change (МТС / Мобильные ТелеСистемы, ...).
BUILTIN_INN: dict[str, str] = {
    "7740000076": "mts",
    "7812014560": "megafon",
    "7713076301": "beeline",
    "7743895280": "tele2",
    "7701725181": "yota",
    "7707049388": "rostelecom",
}

# Mobile network codes in the Russian ported-numbers database.
MNC_CARRIERS: dict[str, str] = {"01": "mts", "02": "megafon", "99": "beeline", "20": "tele2"}

# Ukrainian mobile codes after +380. Ukraine has portability too: a prefix is a guess, not proof.
BUILTIN_PREFIXES: dict[str, str] = {
    **{f"380{c}": "kyivstar" for c in ("39", "67", "68", "77", "96", "97", "98")},
    **{f"380{c}": "vodafone_ua" for c in ("50", "66", "75", "95", "99")},
    **{f"380{c}": "lifecell" for c in ("63", "73", "93")},
}

# phonenumbers' English carrier names, by (country, normalised name); "" = any country.
# Vodafone is a different company in every country, so it is mapped for Ukraine only.
PHONENUMBERS_NAMES: dict[tuple[str, str], str] = {
    ("", "megafon"): "megafon",
    ("", "mts"): "mts",
    ("", "beeline"): "beeline",
    ("", "t2"): "tele2",
    ("", "tele2"): "tele2",
    ("", "yota"): "yota",
    ("", "rostelecom"): "rostelecom",
    ("UA", "kyivstar"): "kyivstar",
    ("UA", "vodafone"): "vodafone_ua",
    ("UA", "lifecell"): "lifecell",
}

_QUOTES = re.compile(r"[\"'«»“”„`]")
_LEGAL_FORMS = re.compile(
    r"(?<!\w)(пао|оао|зао|нао|ао|ооо|одо|ип|фгуп|гуп|муп|тов|прат|пат|llc|jsc|pjsc|ltd|inc)(?!\w)")
_NON_WORD = re.compile(r"[^\w]+")


def normalise_name(name: str) -> str:
    """A name reduced for matching: lower case, ё→е, no quotes, legal form or punctuation.
    'ПАО "МегаФон"' and 'ПАО "МЕГАФОН"' both give 'мегафон'."""
    s = _QUOTES.sub(" ", name.lower().replace("ё", "е"))
    s = _LEGAL_FORMS.sub(" ", s)
    return " ".join(_NON_WORD.sub(" ", s).split())


@dataclass(frozen=True)
class CarrierTable:
    by_inn: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_INN))
    by_name: Mapping[str, str] = field(default_factory=dict)       # normalised name -> key
    prefixes: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_PREFIXES))

    def for_operator(self, name: str, inn: str = "") -> str | None:
        """Carrier key of a registry operator: by ИНН, then by name; an operator we do not know
        is kept under its own normalised name (None only for an empty name)."""
        if inn and inn in self.by_inn:
            return self.by_inn[inn]
        norm = normalise_name(name)
        return self.by_name.get(norm) or self._within(norm) or norm or None

    def _within(self, norm: str) -> str | None:
        """A regional company named after its carrier ("Теле2-Омск", 'ЗАО "МТС-Урал"', "Кавказский
        филиал МегаФон"): the old tab-padded registry has no ИНН to tell it. The longest known name
        found as whole words wins."""
        padded = f" {norm} "
        found = [(len(known), key) for known, key in self.by_name.items() if f" {known} " in padded]
        return max(found)[1] if found else None

    def for_owner_id(self, owner_id: str) -> str | None:
        """Carrier key of a ported-database OwnerId such as 'mMEGAFON'."""
        text = owner_id.strip()
        # OwnerIds carry a one-letter lower-case kind before the upper-case name.
        if len(text) > 1 and text[0].islower() and text[1].isupper():
            text = text[1:]
        norm = normalise_name(text)
        if not norm:
            return None
        return self.by_name.get(norm) or PHONENUMBERS_NAMES.get(("", norm)) or norm

    def for_prefix(self, e164: str) -> str | None:
        """Carrier key from the longest matching E.164 prefix in the table."""
        digits = e164.lstrip("+")
        for n in range(min(len(digits), 8), 0, -1):
            key = self.prefixes.get(digits[:n])
            if key:
                return key
        return None

    def for_phonenumbers(self, name: str, country: str) -> str | None:
        norm = normalise_name(name)
        if not norm:
            return None
        return (PHONENUMBERS_NAMES.get((country, norm)) or PHONENUMBERS_NAMES.get(("", norm))
                or self.by_name.get(norm) or norm)


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return [str(v).strip() for v in value]


def _check_key(key: object, where: str) -> str:
    if not isinstance(key, str) or not CARRIER_KEY.fullmatch(key):
        raise ConfigError(f"{where}: carrier key {key!r} must be lower-case latin letters, "
                          "digits and '_' (e.g. megafon, vodafone_ua)")
    return key


def load_carrier_table(path: Path | None) -> CarrierTable:
    """The built-in table with operators.yaml on top. A missing file gives the built-ins."""
    if path is None or not path.exists():
        return CarrierTable()
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'carriers' and 'prefixes'")
    unknown = sorted(set(data) - {"carriers", "prefixes"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s): {', '.join(unknown)}")
    by_inn = dict(BUILTIN_INN)
    by_name: dict[str, str] = {}
    carriers = data.get("carriers") or {}
    if not isinstance(carriers, dict):
        raise ConfigError(f"{path}: carriers: expected a mapping of key: {{inn: [...], names: [...]}}")
    for key, spec in carriers.items():
        key = _check_key(key, f"{path}: carriers")
        spec = spec or {}
        if not isinstance(spec, dict) or set(spec) - {"inn", "names"}:
            raise ConfigError(f"{path}: carriers.{key}: expected 'inn' and/or 'names' lists")
        for inn in _strings(spec.get("inn"), f"{path}: carriers.{key}.inn"):
            if not re.fullmatch(r"\d{10}|\d{12}", inn):
                raise ConfigError(f"{path}: carriers.{key}.inn: {inn!r} is not a 10- or 12-digit ИНН")
            by_inn[inn] = key
        for name in _strings(spec.get("names"), f"{path}: carriers.{key}.names"):
            norm = normalise_name(name)
            if not norm:
                raise ConfigError(f"{path}: carriers.{key}.names: {name!r} has no letters or digits")
            by_name[norm] = key
    prefixes = dict(BUILTIN_PREFIXES)
    extra = data.get("prefixes") or {}
    if not isinstance(extra, dict):
        raise ConfigError(f"{path}: prefixes: expected a mapping of E.164 prefix: carrier key")
    for prefix, key in extra.items():
        prefix = str(prefix).lstrip("+")
        if not prefix.isdigit():
            raise ConfigError(f"{path}: prefixes: {prefix!r} is not a digit prefix such as 38067")
        prefixes[prefix] = _check_key(key, f"{path}: prefixes.{prefix}")
    return CarrierTable(by_inn=by_inn, by_name=by_name, prefixes=prefixes)
