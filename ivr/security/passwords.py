"""Password strength, for SIP phones (checked at `plan check`) and console accounts alike: long
enough, more than one kind of character, not a well-known password. SIP registrars on the internet
are scanned all day with exactly these guesses."""
from __future__ import annotations

MIN_LENGTH = 8
# The passwords SIP scanners try first (besides digits only, which the kinds rule refuses).
COMMON = frozenset({
    "password", "password1", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty123", "qwertyui", "qwerty12",
    "abc12345", "abcd1234", "admin123", "administrator", "asterisk", "asterisk1", "changeme", "changeme1",
    "letmein1", "welcome1", "iloveyou", "secret123", "voip1234", "sip12345", "1q2w3e4r", "1qaz2wsx",
    "zaq12wsx", "trustno1", "football", "baseball", "sunshine", "superman",
})


def weakness(password: str, account: str = "") -> str | None:
    """Why the password is too weak, or None when it will do."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    kinds = sum(any(test(c) for c in password) for test in (str.islower, str.isupper, str.isdigit,
                                                              lambda c: not c.isalnum()))
    if kinds < 2:
        return "mix at least two kinds of characters (lower case, upper case, digits, symbols)"
    if len(set(password)) < 5:
        return "too few different characters"
    if password.lower() in COMMON or (account and account.lower() in password.lower()
                                      and len(password) - len(account) < 6):
        return "a well-known or guessable password"
    return None
