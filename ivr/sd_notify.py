"""systemd's notify protocol, for the unit's Type=notify and WatchdogSec (no dependency needed):
READY=1 once the service serves, WATCHDOG=1 from the event loop itself, so a loop that hangs stops
pinging and systemd restarts the service. Without $NOTIFY_SOCKET (make run, tests) it does nothing."""
from __future__ import annotations

import asyncio
import os
import socket


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):                     # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())
    return True


async def watchdog() -> None:
    """Ping at half the unit's WatchdogSec ($WATCHDOG_USEC) for as long as the loop runs."""
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    if not usec or os.environ.get("WATCHDOG_PID", str(os.getpid())) != str(os.getpid()):
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(usec / 2_000_000)
