"""`ivr asterisk ...`: render the PBX configuration from settings + plan, start and stop the bundled Asterisk."""
from __future__ import annotations

import argparse

from ivr.asterisk.render import pbx_instance, render_pbx
from ivr.config import Settings
from ivr.i18n import _
from ivr.plan.loader import load_plan
from ivr.sounds.catalog import PromptCatalog


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("asterisk", help="render config, start or stop the PBX Asterisk")
    actions = parser.add_subparsers(dest="asterisk_command", required=True, metavar="ACTION")
    for name, handler, text in (("render", render_command, "write Asterisk config from the plan"),
                                ("start", start_command, "render, then start the bundled Asterisk"),
                                ("stop", stop_command, "stop the bundled Asterisk"),
                                ("status", status_command, "is it running")):
        actions.add_parser(name, help=text).set_defaults(handler=handler)


def _render(settings: Settings) -> None:
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file),
                     prompt_exists=PromptCatalog(settings).exists)
    instance = pbx_instance(settings)
    for path in render_pbx(settings, plan, instance):
        print(_("wrote %(file)s", file=path))
    (instance.spool / "recording").mkdir(parents=True, exist_ok=True)


def render_command(args: argparse.Namespace, settings: Settings) -> int:
    _render(settings)
    return 0


def start_command(args: argparse.Namespace, settings: Settings) -> int:
    _render(settings)
    instance = pbx_instance(settings)
    pid = instance.start()
    print(_("asterisk running (pid %(pid)s), SIP on %(address)s:%(port)s, ARI on %(ari)s", pid=pid,
            address=settings.sip_address, port=settings.sip_port, ari=settings.ari_url))
    return 0


def stop_command(args: argparse.Namespace, settings: Settings) -> int:
    pbx_instance(settings).stop()
    print(_("asterisk stopped"))
    return 0


def status_command(args: argparse.Namespace, settings: Settings) -> int:
    pid = pbx_instance(settings).pid()
    print(_("asterisk running (pid %(pid)s)", pid=pid) if pid else _("asterisk not running"))
    return 0 if pid else 1
