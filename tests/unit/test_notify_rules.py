"""notifications.yaml: parsing with errors that name the key; which rules match a missed call and
who gets the mail; digest periods."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.config import Settings
from ivr.errors import ConfigError
from ivr.missed.store import MissedCall
from ivr.notify.config import Rule, load_notify_config, parse_notify_config
from ivr.notify.notifier import digest_due, recipients, rule_matches

T0 = datetime(2026, 11, 25, 8, 7, 30, tzinfo=UTC)


def miss(**kw) -> MissedCall:
    base = dict(call_id=1, customer="+79161000001", company_number="+74951110000", source="main", contact_name="",
                at=T0, reason="no_answer", node="booking", short=False, rung=("101", "102"))
    return MissedCall(**{**base, **kw})


def parse(text: str):
    return parse_notify_config(text, "n.yaml", "http://console/")


def test_full_file_parses():
    config = parse("""
missed: {close_after_seconds: 12}
mail: {host: smtp.example, port: 2525, from: ivr@example.com, starttls: true}
webhooks: [{url: "http://crm/hook", secret: s, events: [missed, closed]}]
staff_mail: {"101": anna@example.com}
retry_max_seconds: 5
rules:
  - {recipients: [a@example.com], numbers: ["+74951110000"], digest_minutes: 15, language: en}
  - {only_called: yes, short: yes}
""")
    assert config.close_after_seconds == 12 and config.retry_max_seconds == 5
    assert (config.mail.host, config.mail.port, config.mail.sender, config.mail.starttls) == \
        ("smtp.example", 2525, "ivr@example.com", True)
    assert config.webhooks[0].events == ("missed", "closed")
    assert config.rules[0] == Rule(recipients=("a@example.com",), numbers=("+74951110000",), digest_minutes=15,
                                   language="en")
    assert config.rules[1].only_called and config.rules[1].short
    assert config.staff_mail == {"101": "anna@example.com"} and config.console_url == "http://console"


@pytest.mark.parametrize("text, message", [
    ("rules: [{recipients: [a@b]}]", "add a mail: section"),
    ("mail: {port: 25}", "mail: 'host' is missing"),
    ("mail: {host: h}\nrules: [{numbers: ['+7']}]", "rules[0]: give recipients"),
    ("mail: {host: h}\nrules: [{recipients: [a@b], language: de}]", "rules[0].language: 'de'"),
    ("webhooks: [{url: u, secret: s, events: [called]}]", "webhooks[0].events: 'called'"),
    ("missed: {close_after: 3}", "missed: unknown key 'close_after'"),
    ("missed: {close_after_seconds: -1}", "missed.close_after_seconds: must be at least 0"),
    ("mail: {host: h, starttls: maybe}", "mail.starttls: expected yes or no, got 'maybe'"),
    ("mail: {host: h, port: 25.5}", "mail.port: expected a whole number"),
    ("rules: x", "rules: expected a list"),
])
def test_mistakes_are_named(text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        parse(text)


def test_file_next_to_the_plan_or_defaults(tmp_path):
    settings = Settings(plan_file=str(tmp_path / "plan.yaml"), public_url="http://pbx:8080")
    assert load_notify_config(settings).rules == () and load_notify_config(settings).close_after_seconds == 10
    (tmp_path / "notifications.yaml").write_text("missed: {close_after_seconds: 20}\n")
    assert load_notify_config(settings).close_after_seconds == 20
    (tmp_path / "notifications.yaml").write_text("rules: [\n")
    with pytest.raises(ConfigError, match="notifications.yaml"):
        load_notify_config(settings)


def test_rule_matching():
    assert rule_matches(Rule(recipients=("a",)), miss())
    assert not rule_matches(Rule(recipients=("a",)), miss(short=True))
    assert rule_matches(Rule(recipients=("a",), short=True), miss(short=True))
    assert rule_matches(Rule(recipients=("a",), numbers=("+74951110000",)), miss())
    assert not rule_matches(Rule(recipients=("a",), numbers=("+74951110001",)), miss())
    # Watched extensions: a call that rang 102 matches, whatever number it came in on.
    assert rule_matches(Rule(recipients=("a",), numbers=("+74951110001",), extensions=("102",)), miss())
    assert not rule_matches(Rule(recipients=("a",), extensions=("103",)), miss())
    assert rule_matches(Rule(recipients=("a",), callers=("+7916",)), miss())
    assert not rule_matches(Rule(recipients=("a",), callers=("+7903",)), miss())


def test_only_the_person_who_was_called():
    staff = {"101": "anna@x", "102": "boris@x"}
    rule = Rule(recipients=("boss@x",), only_called=True)
    assert recipients(rule, miss(), staff) == ["anna@x", "boris@x"]
    assert recipients(rule, miss(rung=("103",)), staff) == ["boss@x"]     # nobody with a mail rang
    assert recipients(Rule(recipients=("boss@x", "boss@x")), miss(), staff) == ["boss@x"]


def test_digest_periods_align_on_the_clock():
    assert digest_due(T0, 15) == datetime(2026, 11, 25, 8, 15, tzinfo=UTC)
    assert digest_due(datetime(2026, 11, 25, 8, 15, tzinfo=UTC), 15) == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    assert digest_due(T0, 60) == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_mistakes_in_the_file_carry_file_line_and_column(tmp_path):
    settings = Settings(plan_file=str(tmp_path / "plan.yaml"), public_url="http://pbx:8080")
    path = tmp_path / "notifications.yaml"
    path.write_text("mail:\n  host: h\nrules:\n  - recipients: [a@b]\n    language: de\n")
    with pytest.raises(ConfigError, match=rf"^{path}:5:15: rules\[0\]\.language: 'de' is not one of ru, en"):
        load_notify_config(settings)
    path.write_text("missed:\n  close_after_seconds: -1\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2:24: missed.close_after_seconds: must be at least 0"):
        load_notify_config(settings)
    path.write_text("rules: [\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2:1: YAML syntax error"):
        load_notify_config(settings)
    # Every problem at once, each at its own line (the reader goes on after the first).
    path.write_text("mail:\n  host: h\n  port: x\nwebhooks:\n  - {url: u, secret: s, events: [called]}\n")
    with pytest.raises(ConfigError) as refused:
        load_notify_config(settings)
    assert [(p.line, p.col) for p in refused.value.problems] == [(3, 9), (5, 34)]
