"""What personal data looks like, in one place: the shapes of e-mail addresses, phone numbers
and mail hosts that must never enter the ledger, an error message, a log or a URL.

Every guard in custodes (the ledger's entry checks, justification text, echoed key names, request
ids in the access log) asks these functions, so a shape added here is refused everywhere at once.
The relay's DLP is a different job (finding contact details inside a message to act on them) and
keeps its own recognisers.
"""

from __future__ import annotations

import re

EMAILISH = re.compile(r"[^\s@]@[^\s@]")
PHONEISH = re.compile(r"\+?\d(?:[\s()./_-]*\d){7,}")
# Inside ids `x`/`X` separate a phone extension: they count as phone punctuation there.
PHONEISH_ID = re.compile(r"\+?\d(?:[\s()./_xX-]*\d){7,}")
# Our own keyed ids (cp_…, ep_…, ap_…: base32 of an HMAC or random bytes) may contain digit runs.
# Digests (32-64 lowercase hex) likewise: sha256 of a policy, of a set of pseudonyms.
OUR_ID = re.compile(r"(?:[a-z]+:)?(?:[a-z]{2,4}_[a-z2-7]{16,}|(?=[0-9]*[a-f])[0-9a-f]{32,64})")
# Record ids such as `CASE-2026-000123` or `O-2026-04-17-0042` carry digit runs too; what sets
# them apart from a phone number is a word letter (x and X are phone extension separators).
WORD_LETTER = re.compile(r"[A-WYZa-wyz]")
DIAL_PREFIX = re.compile(r"(?i)\b(?:tel|sms|callto|whatsapp|viber|skype):|wa\.me/")
# An e-mail address with its @ swapped for a dot still names a mailbox: host-shaped ids are refused.
HOSTISH = re.compile(
    r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:[A-Za-z]{2,3}\.[A-Za-z]{2}|com|net|org|edu|gov|info|"
    r"biz|io|me|jp|de|uk|fr|br|in|ru|cn|au|ca|it|es|nl|mx|kr|ch|se|pl|be|at|dk|no|fi|pt|ie|nz)"
    r"(?:[/:]|$)",
    re.IGNORECASE,
)
_WORD_SPLIT = re.compile(r"[\s,;()\[\]<>\"']+")


def id_looks_like_pii(value: str) -> bool:
    """An id may hold digit runs beside word letters (dates, sequence numbers); a phone number,
    an e-mail address or a mail host may not pass as one."""
    if OUR_ID.fullmatch(value):
        return False
    ident = value.partition(":")[2] if ":" in value else value
    phoneish = PHONEISH_ID.search(ident) and not WORD_LETTER.search(ident)
    return bool(EMAILISH.search(value) or phoneish or HOSTISH.search(ident))


def code_looks_like_pii(value: str) -> bool:
    """A short code (an action, a reason) holds no digit run of phone length and no @."""
    if OUR_ID.fullmatch(value):
        return False
    return bool(EMAILISH.search(value) or PHONEISH.search(value))


def free_text_pii(text: str) -> bool:
    """Whether free text (a justification, a reason) holds something shaped like an e-mail
    address, a phone number or a mail host: the same shapes the ledger refuses in ids."""
    if EMAILISH.search(text):
        return True
    for match in PHONEISH_ID.finditer(text):
        # A digit run inside a word with letters is an id (O-2026-04-17-0042), not a phone.
        start = max(text.rfind(" ", 0, match.start()) + 1, 0)
        end = text.find(" ", match.end())
        word = DIAL_PREFIX.sub("", text[start : end if end >= 0 else len(text)])
        if not WORD_LETTER.search(word) or " " in match.group():
            return True
    return any(HOSTISH.search(word) for word in _WORD_SPLIT.split(text) if word)
