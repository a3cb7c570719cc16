"""Staff outbound dialing, run by the PBX's [from-staff] context (AGI, pyst2).

`outbound.py` (before the first Dial): asks the running service which trunks the dialled number
takes (GET /api/route: normalisation, the phone's class of service and rate limit, the callee's
carrier, live channel counts) and hands the dialplan the first trunk and its caller ID.
`outbound.py after` (after each Dial): on the trunk's own trouble (503, 408, no answer from the
trunk at all, no circuit) hands it the next trunk; on the callee's answer (486, 480, 404) stops.
Once the call's result is final it is reported to the service (POST /api/calls/outbound: the
missed-call list closes the customer's item on a long enough answer, logs an attempt otherwise).
`outbound.py hangup` (the h extension: the staff phone hung up during the Dial) reports it then.
A report that fails is logged and dropped: it never changes what happens to the call.

It sets OUT_ACTION to dial, busy, done or refuse; anything else (this script failing, the service
down) leaves OUT_ACTION unset, which the dialplan treats as refuse. A call is never sent out
on a trunk the service did not name. Fast on purpose: the standard library, pyst2 and the
stdlib-only failover rule; the heavy lookup lives in the service.
"""
from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from asterisk.agi import AGI

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ivr.routing.failover import sip_code, should_fail_over  # noqa: E402

SERVICE_URL = os.environ.get("IVR_ROUTE_URL", "http://127.0.0.1:8080")
# The service writes this script's API token (role system) into this file when it starts.
TOKEN_FILE = os.environ.get("IVR_TOKEN_FILE", "")
TIMEOUT = 3.0
PROMPTS = {
    "invalid-number": "cannot-complete-as-dialed",
    "route-refused": "ss-noservice",
    "no-trunk": "all-circuits-busy-now",
    "error": "cannot-complete-as-dialed",
}
CAUSES = {"invalid-number": 28, "route-refused": 21, "no-trunk": 34, "error": 41}
_TRUNK = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_CALLER_ID = re.compile(r"\+?[0-9]{0,15}")
_DIAL = re.compile(r"\+?[0-9]{6,18}")
_RECORDING = re.compile(r"\d{4}/\d{2}/\d{2}/[A-Za-z0-9_.-]+\.ogg")
_MIXMONITOR = re.compile(r"/[A-Za-z0-9_./-]+\.raw,D,[A-Za-z0-9_./:=&+$ -]+")   # file,options,command: no quotes ($f: the shell's)


class RouteError(Exception):
    """The service refused the call or could not be asked; `kind` picks the prompt."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _auth() -> dict[str, str]:
    try:
        return {"Authorization": f"Bearer {Path(TOKEN_FILE).read_text().strip()}"}
    except OSError:
        return {}                         # the service then answers 401: the call is refused


def ask_service(number: str, phone: str, channel: str) -> dict:
    query = urllib.parse.urlencode({"number": number, "phone": phone, "dial": "1", "channel": channel})
    request = urllib.request.Request(f"{SERVICE_URL}/api/route?{query}", headers=_auth())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            body = {}
        kind = body.get("error", "error")
        raise RouteError(kind if kind in PROMPTS else "error", body.get("message", str(e))) from None
    except (OSError, ValueError) as e:
        raise RouteError("error", f"service not reachable: {e}") from None


def checked_plan(route: dict) -> tuple[str, list[tuple[str, str, str]]]:
    """The number and (trunk, caller ID, number as the trunk wants it) of each candidate, each
    checked before it may reach a Dial string."""
    number = route.get("number", "")
    trunks = [(c.get("trunk", ""), c.get("caller_id") or "", c.get("dial") or number)
              for c in route.get("candidates", [])]
    if not _E164.fullmatch(number) or not all(_TRUNK.fullmatch(t) and _CALLER_ID.fullmatch(cid)
                                              and _DIAL.fullmatch(dial) for t, cid, dial in trunks):
        raise RouteError("error", f"unexpected answer from the service: {route!r}")
    if not trunks:
        raise RouteError("no-trunk", "no trunk")
    return number, trunks


def checked_record(route: dict) -> dict[str, str] | None:
    """The recording the service asks for (a phone whose outside calls are recorded): its name and
    MixMonitor's arguments, checked before they reach the dialplan; None when there is none."""
    record = route.get("record")
    if not record:
        return None
    if not (_RECORDING.fullmatch(record.get("name", "")) and _MIXMONITOR.fullmatch(record.get("arguments", ""))):
        raise RouteError("error", f"unexpected recording from the service: {record!r}")
    return record


def set_trunk(agi: AGI, trunk: str, caller_id: str, dial: str) -> None:
    agi.set_variable("OUT_TRUNK", trunk)
    agi.set_variable("OUT_CID", caller_id)
    agi.set_variable("OUT_DIAL", dial)
    agi.set_variable("OUT_ACTION", "dial")


def refuse(agi: AGI, kind: str, message: str) -> None:
    agi.verbose(f"outbound refused ({kind}): {message}"[:200], 2)
    agi.set_variable("OUT_REASON", kind)
    agi.set_variable("OUT_PROMPT", PROMPTS[kind])
    agi.set_variable("OUT_CAUSE", str(CAUSES[kind]))
    agi.set_variable("OUT_ACTION", "refuse")


def first(agi: AGI) -> None:
    dialled = agi.env.get("agi_extension", "")
    phone = agi.get_variable("CHANNEL(endpoint)")
    try:
        route = ask_service(dialled, phone, agi.env.get("agi_uniqueid", ""))
        number, trunks = checked_plan(route)
    except RouteError as e:
        refuse(agi, e.kind, str(e))
        return
    if (record := checked_record(route)) is not None:
        # Inherited by the callee's channel, where Dial's pre-dial handler starts MixMonitor.
        agi.set_variable("_OUT_RECORD", record["arguments"])
        agi.set_variable("OUT_RECORDING", record["name"])
    agi.set_variable("OUT_NUMBER", number)
    # Space-separated: neither trunk names nor caller IDs contain spaces; "-" is "no caller ID".
    agi.set_variable("OUT_TRUNKS", " ".join(t for t, _, _ in trunks))
    agi.set_variable("OUT_CIDS", " ".join(cid or "-" for _, cid, _ in trunks))
    agi.set_variable("OUT_DIALS", " ".join(dial for _, _, dial in trunks))
    set_trunk(agi, *trunks[0])


def report(agi: AGI) -> None:
    """Tell the service how the call to the callee ended, once per call; never raises."""
    try:
        number = agi.get_variable("OUT_NUMBER")
        status = agi.get_variable("DIALSTATUS")
        if not number or not status or agi.get_variable("OUT_REPORTED"):
            return
        agi.set_variable("OUT_REPORTED", "1")
        body = {"phone": agi.get_variable("CHANNEL(endpoint)"), "number": number, "status": status,
                "answered_seconds": _seconds(agi.get_variable("ANSWEREDTIME")),
                "dialled_seconds": _seconds(agi.get_variable("DIALEDTIME")),
                "channel": agi.env.get("agi_uniqueid", ""), "trunk": agi.get_variable("OUT_TRUNK"),
                "recording": agi.get_variable("OUT_RECORDING")}
        request = urllib.request.Request(f"{SERVICE_URL}/api/calls/outbound", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", **_auth()}, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT):
            pass
    except Exception as e:      # the list misses one closing call; the phone call is unaffected
        try:
            agi.verbose(f"outbound call not reported: {type(e).__name__}: {e}"[:200], 1)
        except Exception:
            pass


def _seconds(raw: str) -> int:
    return int(raw) if raw.isdigit() else 0


def after(agi: AGI) -> None:
    status = agi.get_variable("DIALSTATUS")
    trunk = agi.get_variable("OUT_TRUNK")
    tried = f"PJSIP/trunk-{trunk}-"
    keys = agi.get_full_variable("${HANGUPCAUSE_KEYS()}").split(",")
    leg = next((k for k in reversed(keys) if k.startswith(tried)), "")
    code = cause = None
    if leg:
        code = sip_code(agi.get_full_variable(f"${{HANGUPCAUSE({leg},tech)}}"))
        ast = agi.get_full_variable(f"${{HANGUPCAUSE({leg},ast)}}")
        cause = int(ast) if ast.isdigit() else None
    agi.verbose(f"outbound via {trunk}: {status} sip={code} cause={cause}", 2)
    if status == "BUSY" or code == 486:
        agi.set_variable("OUT_ACTION", "busy")
        report(agi)
        return
    if not should_fail_over(status, code, cause):
        agi.set_variable("OUT_ACTION", "done")
        report(agi)
        return
    trunks = agi.get_variable("OUT_TRUNKS").split()
    cids = agi.get_variable("OUT_CIDS").split()
    dials = agi.get_variable("OUT_DIALS").split()
    if trunk not in trunks or not len(cids) == len(dials) == len(trunks):
        raise RouteError("error", f"lost the trunk list ({trunks}, {trunk})")
    i = trunks.index(trunk) + 1
    if i >= len(trunks):
        refuse(agi, "no-trunk", f"every trunk failed, the last with {status} {code}")
        report(agi)
        return
    set_trunk(agi, trunks[i], "" if cids[i] == "-" else cids[i], dials[i])


def main(argv: list[str]) -> int:
    agi = AGI()
    if argv[1:2] == ["hangup"]:
        report(agi)
        return 0
    try:
        (after if argv[1:2] == ["after"] else first)(agi)
    except Exception as e:      # fail safe: whatever went wrong, the call is refused, never routed
        try:
            refuse(agi, "error", f"{type(e).__name__}: {e}")
        except Exception:       # the channel is gone: nothing left to tell
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
