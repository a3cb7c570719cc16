"""`ivr numbering`: load the numbering registry and ported numbers, keep overrides, look numbers up.

`import` exits 1 when any row was broken, after loading the good rows, so a script notices a bad
file while the registry still gets every range that could be read.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ivr.config import Settings
from ivr.errors import InvalidInput
from ivr.i18n import _
from ivr.routing import overrides
from ivr.routing.carriers import CarrierTable, load_carrier_table
from ivr.routing.lookup import CarrierInfo, CarrierLookup
from ivr.routing.numbers import normalize

OPERATORS_FILE = "config/numbering/operators.yaml"


def data_dir(settings: Settings) -> Path:
    return settings.var / "numbering"


def carrier_table(settings: Settings) -> CarrierTable:
    return load_carrier_table(settings.path(OPERATORS_FILE))


def open_lookup(settings: Settings) -> CarrierLookup:
    return CarrierLookup(data_dir(settings), carrier_table(settings))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("numbering", help="numbering registry, ported numbers, carrier lookup")
    sub = parser.add_subparsers(dest="numbering_command", required=True, metavar="ACTION")

    p = sub.add_parser("import", help="load the regulator's ABC/DEF registry files",
                       description="Load ABC-3xx/4xx/8xx and DEF-9xx files (any layout). Their ranges "
                                   "replace the stored ones of the same leading digit. Broken rows are "
                                   "listed as FILE:LINE: field: reason; the good rows still load, and the "
                                   "exit status is then 1.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("import-ported", help="load a ported-numbers dump or increment (zipped or not)")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--kind", choices=("auto", "full", "port", "return"), default="auto",
                   help="full dump (replaces), port or return increment; auto: from the file name")
    p.set_defaults(handler=cmd_import_ported)

    p = sub.add_parser("port", help="set (or --remove) a manual carrier override for a number")
    p.add_argument("number")
    p.add_argument("carrier", nargs="?", help="carrier key: megafon, mts, beeline, tele2, ...")
    p.add_argument("--remove", action="store_true", help="drop the override")
    p.add_argument("--country", default="RU", help="country for national formats (default RU)")
    p.set_defaults(handler=cmd_port)

    p = sub.add_parser("lookup", help="which carrier owns a number, and which source says so")
    p.add_argument("number")
    p.add_argument("--json", action="store_true")
    p.add_argument("--country", default="RU", help="country for national formats (default RU)")
    p.set_defaults(handler=cmd_lookup)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.routing import registry       # numpy: only the importers need it, not a lookup
    report = registry.import_files(args.files, data_dir(settings))
    for f in report.files:
        print(_("%(file)s: %(encoding)s, %(layout)s: %(rows)s ranges read, %(broken)s broken", file=f.file,
                encoding=f.encoding, layout=f.layout, rows=len(f.rows), broken=len(f.errors)))
    for error in report.errors:
        print(error)
    replaced = ", ".join(f"{d}xx" for d in report.replaced_codes) or _("nothing (no good rows)")
    print(_("registry: %(rows)s ranges; replaced codes %(codes)s", rows=report.rows, codes=replaced))
    return 1 if report.errors else 0


def cmd_import_ported(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.routing import ported         # numpy: only the importers need it, not a lookup
    kind = None if args.kind == "auto" else args.kind
    report = ported.import_file(args.file, data_dir(settings), carrier_table(settings), kind)
    for error in report.errors:
        print(error)
    print(_("%(file)s: %(kind)s: %(rows)s rows read, %(broken)s broken; %(total)s ported numbers stored",
            file=report.file, kind=report.kind, rows=report.rows, broken=len(report.errors), total=report.total))
    return 1 if report.errors else 0


def cmd_port(args: argparse.Namespace, settings: Settings) -> int:
    number = normalize(args.number, args.country)
    if args.remove:
        if args.carrier:
            raise InvalidInput(_("give no carrier with --remove"))
        removed = overrides.remove_override(data_dir(settings), number)
        print(_("%(number)s: override removed", number=number) if removed else
              _("%(number)s: had no override", number=number))
        return 0
    if not args.carrier:
        raise InvalidInput(_("a carrier key is needed (or --remove)"))
    overrides.set_override(data_dir(settings), number, args.carrier)
    print(_("%(number)s: carrier %(carrier)s (override)", number=number, carrier=args.carrier))
    return 0


def info_dict(info: CarrierInfo) -> dict:
    return info._asdict()


def cmd_lookup(args: argparse.Namespace, settings: Settings) -> int:
    info = open_lookup(settings).lookup(normalize(args.number, args.country))
    if args.json:
        print(json.dumps(info_dict(info), ensure_ascii=False))
    else:
        for key, value in info_dict(info).items():
            print(f"{key:15} {'' if value is None else value}")
    return 0
