"""The demo mailbox's saved mails (.eml files in var/mailbox), read back for the console's page."""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class SavedMail:
    to: str
    subject: str
    date: datetime | None
    body: str                           # the plain-text part
    attachments: tuple[str, ...]        # file names


def saved_mails(directory: Path, most: int = 100) -> list[SavedMail]:
    """The newest `most` mails, newest first (file reads: run it off the event loop)."""
    mails = []
    for path in sorted(directory.glob("*.eml"), reverse=True)[:most]:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        mails.append(SavedMail(to=msg["To"], subject=msg["Subject"], date=msg["Date"].datetime if msg["Date"] else None,
                               body=body.get_content() if body else "",
                               attachments=tuple(a.get_filename() for a in msg.iter_attachments())))
    return mails
