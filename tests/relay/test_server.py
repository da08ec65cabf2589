"""The relay's SMTP session parses addresses exactly as aiosmtpd's does (it only drops the class
aiosmtpd builds on every call)."""

from __future__ import annotations

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.relay.server import RelaySMTP

SAMPLES = [
    "",
    "<a@b.example>",
    "a@b.example",
    " <a@b.example> SIZE=100",
    "<>",
    "<@relay:a@b.example>",
    '<"quoted local"@b.example>',
    "<" + "x" * 70 + "@b.example>",
    "<a@b.example",
    "not an address",
    "<a@[127.0.0.1]>",
    "=?utf-8?q?x?= <a@b.example>",
]


def _outcome(session: SMTP, arg: str) -> object:
    """The parse, or the kind of error it raises (the stdlib parser raises on a few inputs;
    aiosmtpd's session answers those with 500, and so must ours)."""
    try:
        return session._getaddr(arg)
    except Exception as exc:
        return type(exc)


def _both(arg: str, limit: int = 64) -> tuple[object, object]:
    ours = RelaySMTP(handler=object(), loop=None)
    theirs = SMTP(handler=object(), loop=None)
    ours.local_part_limit = theirs.local_part_limit = limit
    return _outcome(ours, arg), _outcome(theirs, arg)


def test_the_samples_parse_the_same() -> None:
    for arg in SAMPLES:
        ours, theirs = _both(arg)
        assert ours == theirs, arg
    ours, theirs = _both("<" + "x" * 70 + "@b.example>", limit=0)  # no limit
    assert ours == theirs and isinstance(ours, tuple) and ours[0] is not None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=80))
def test_any_argument_parses_the_same(arg: str) -> None:
    ours, theirs = _both(arg)
    assert ours == theirs
