"""`ivr sounds generate` (build-time espeak-ng prompts) and `ivr sounds import` (admin recordings)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ivr.config import Settings
from ivr.i18n import _
from ivr.sounds.convert import import_sound
from ivr.say import generate_words
from ivr.sounds.generate import generate_prompts


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sounds", help="generate and import prompts")
    sub = parser.add_subparsers(dest="sounds_command", required=True, metavar="ACTION")

    gen = sub.add_parser("generate", help="speak sounds/prompts.yaml into sounds/generated/ (espeak-ng)")
    gen.add_argument("--file", type=Path, help="prompts YAML (default: sounds/prompts.yaml)")
    gen.add_argument("--force", action="store_true", help="speak every prompt, even unchanged ones")
    gen.set_defaults(handler=_generate)

    imp = sub.add_parser("import", help="convert a recording (WAV/MP3/OGG/M4A) into sounds/<lang>/")
    imp.add_argument("file", type=Path)
    imp.add_argument("--name", required=True, help="prompt name: letters, digits, - and _")
    imp.add_argument("--lang", default="ru", help="language directory (default: ru)")
    imp.set_defaults(handler=_import)


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    result = generate_prompts(settings, prompts_file=args.file, force=args.force)
    print(_("prompts: %(generated)s generated, %(unchanged)s unchanged, %(removed)s removed",
            generated=len(result.generated), unchanged=len(result.unchanged), removed=len(result.removed)))
    for key in result.generated:
        print(f"  + {key}")
    for key in result.removed:
        print(f"  - {key}")
    # Word forms the `say` module needs and Asterisk's core sounds lack (ru: пятого, две, ...).
    words = generate_words(settings, force=args.force)
    print(_("say words: %(generated)s generated, %(unchanged)s unchanged", generated=len(words.generated),
            unchanged=len(words.unchanged)))
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    result = import_sound(settings, args.file, args.name, args.lang)
    print(_("%(prompt)s: %(seconds)s s, gain %(gain)s dB", prompt=f"{args.lang}/{args.name}",
            seconds=f"{result.duration_s:.2f}", gain=f"{result.gain_db:+.1f}"))
    for path in result.paths:
        print(f"  {path}")
    return 0
