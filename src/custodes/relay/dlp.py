"""Message DLP: what in a seller's message would take the conversation off the platform.

Finds e-mail addresses (plain and spelled out: "jane at example dot com"), phone numbers
(candidates by pattern, confirmed by libphonenumber for the regions the marketplace serves),
URLs, and off-platform solicitation phrases in the marketplace's languages, in headers (encoded
words decoded), text and HTML parts (base64 and quoted-printable decoded) and text attachments.

Library choice: Presidio's pattern recognisers would need `presidio-analyzer`, which installs
spaCy and expects a language model even when only patterns are used, and its phone recogniser
is itself a wrapper over `phonenumbers`. We use `phonenumbers` directly plus our own patterns:
the same detection for phones, no NLP stack, and a scan fast enough to run inline (bench/).

A finding records its kind, the part it was in and the action taken, never the matched text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from html.parser import HTMLParser

import phonenumbers

KINDS = ("email", "phone", "url", "solicitation")
ACTIONS = ("allow", "redact", "hold", "block")
SEVERITY = {a: i for i, a in enumerate(ACTIONS)}
DEFAULT_ACTIONS = {"email": "redact", "phone": "redact", "url": "hold", "solicitation": "hold"}
# From, To and Cc are rewritten by the relay (aliases only), so only these reach the reader;
# Reply-To is dropped by the relay, but a seller who sets one is asking for replies elsewhere.
SCANNED_HEADERS = ("subject", "reply-to", "comments", "keywords")
MAX_PARTS = 50
MAX_TEXT = 256 * 1024  # per part: beyond this a part is scanned in its first 256 KiB
REDACTED = "[removed by the marketplace]"
# The regions whose numbers the marketplace serves (customers' and sellers' countries).
REGIONS = ("US", "GB", "CA", "AU", "IN", "DE", "FR", "ES", "IT", "NL", "BR", "MX", "JP", "CN")

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}"
)
_SPELLED_EMAIL = re.compile(
    r"\b[A-Za-z0-9._%+\-]{1,64}\s*[\[\(\{<]?\s*(?:at|@)\s*[\]\)\}>]?\s*"
    r"[A-Za-z0-9\-]{1,63}\s*[\[\(\{<]?\s*(?:dot|\.)\s*[\]\)\}>]?\s*"
    r"(?:com|net|org|de|fr|es|it|nl|co|uk|io|me|info|biz|jp|cn|in|br|mx|ca|au)\b",
    re.IGNORECASE,
)
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-/]{5,22}\d(?!\w)")
_URL = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"']+|"
    r"\b[a-z0-9\-]{2,63}\.(?:com|net|org|io|me|ly|shop|store|biz|info|co|app|link|site|xyz)"
    r"(?:/[^\s<>\"']*)?\b",
    re.IGNORECASE,
)
# Off-platform solicitation: asking to talk or pay elsewhere, in the marketplace's languages.
# Each phrase is gated by substrings one of which every match contains: a substring test is
# nearly free, and one big alternation would cost a regex attempt per phrase per character.
_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # messengers and payment apps (any language)
    (r"whats\s*app", ("whats",)),
    (r"telegram", ("telegram",)),
    (r"wechat|weixin|微信", ("wechat", "weixin", "微信")),
    (r"\bviber\b", ("viber",)),
    (r"\bsignal\s+(?:app|me|messenger)\b", ("signal",)),
    (r"\bline\s*id\b|lineで", ("line",)),
    (r"paypal\.me|\bvenmo\b|\bzelle\b|\bcash\s*app\b", ("paypal", "venmo", "zelle", "cash")),
    # English
    (r"contact\s+me\s+(?:directly|outside|off)", ("contact",)),
    (r"\b(?:e-?mail|text|call|message|dm)\s+me\s+(?:directly|at|on)\b", ("directly", " at", " on")),
    (
        r"\b(?:pay|order|buy)\s+(?:me\s+)?(?:directly|outside|off[\s-]platform)",
        ("directly", "outside", "off"),
    ),
    (r"\boff[\s-](?:platform|site)", ("off",)),
    (r"\b(?:send|give)\s+me\s+your\s+(?:e-?mail|phone|number|address)", ("your",)),
    (r"outside\s+(?:of\s+)?(?:the\s+)?(?:platform|marketplace|site|app)", ("outside",)),
    (r"avoid\s+(?:the\s+)?(?:fees?|commission)", ("avoid",)),
    # Spanish, Catalan
    (r"cont[aá]ctame|escr[ií]beme|ll[aá]mame", ("ctame", "beme", "mame")),
    (r"fuera\s+de\s+la\s+plataforma|fora\s+de\s+la\s+plataforma", ("plataforma",)),
    (r"pago\s+directo|sin\s+comisi[oó]n", ("pago", "comisi")),
    (r"escriu[- ]me|truca[- ]me", ("escriu", "truca")),
    # French
    (r"contactez[- ]moi|[ée]crivez[- ]moi|appelez[- ]moi", ("moi",)),
    (r"en\s+dehors\s+de\s+la\s+plateforme|hors\s+plateforme", ("plateforme",)),
    (r"paiement\s+direct", ("paiement",)),
    # German
    (r"kontaktieren\s+sie\s+mich|schreiben\s+sie\s+mir|rufen\s+sie\s+mich", ("sie",)),
    (r"au(?:ß|ss)erhalb\s+der\s+plattform", ("plattform",)),
    (r"direkt\s+(?:bezahlen|überweisen)", ("direkt",)),
    # Italian
    (r"contattami|scrivimi|chiamami", ("ami", "imi")),
    (r"fuori\s+dalla\s+piattaforma|pagamento\s+diretto", ("piattaforma", "pagamento")),
    # Portuguese
    (r"me\s+chame|fale\s+comigo|me\s+mande", ("chame", "comigo", "mande")),
    (r"fora\s+da\s+plataforma|pagamento\s+direto", ("plataforma", "pagamento")),
    # Dutch
    (r"neem\s+(?:direct\s+)?contact\s+met\s+mij|buiten\s+het\s+platform", ("neem", "buiten")),
    (r"rechtstreeks\s+betalen", ("rechtstreeks",)),
    # Japanese, Chinese, Hindi
    (r"直接連絡|直接取引|プラットフォーム外", ("直接", "プラットフォーム")),
    (r"直接联系|私下交易|加我|平台外", ("直接", "私下", "加我", "平台")),
    (r"सीधे\s*संपर्क|मुझे\s*कॉल", ("सीधे", "मुझे")),
)
_SOLICITATION = tuple((re.compile(p), gates) for p, gates in _PHRASES)
# Every gate once, with the phrases it opens: one pass of substring tests per text, then only
# the phrases whose gate is present (the same phrases, in the same order, as testing each).
_GATES: dict[str, tuple[int, ...]] = {}
for _n, (_, _gates) in enumerate(_PHRASES):
    for _gate in _gates:
        _GATES[_gate] = (*_GATES.get(_gate, ()), _n)


@dataclass(frozen=True)
class Finding:
    kind: str
    part: str  # "header:subject", "text/plain#1", "attachment#3", …
    action: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "part": self.part, "action": self.action}


@dataclass
class Policy:
    """What to do per kind of finding; addresses at `allowed_domains` are not findings."""

    actions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    allowed_domains: tuple[str, ...] = ()
    regions: tuple[str, ...] = REGIONS

    def __post_init__(self) -> None:
        for kind, action in self.actions.items():
            if kind not in KINDS or action not in ACTIONS:
                raise ValueError(f"DLP policy: {kind}={action} is not a kind and an action")


@dataclass
class Scan:
    findings: list[Finding]
    verdict: str  # allow | redact | hold | block
    # The message to forward: redacted when the verdict is redact, as parsed when it is allow
    # (so the relay does not parse it twice); None for hold and block.
    message: Message | None
    malformed: bool = False

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.findings})


class _Text(HTMLParser):
    """Visible text of HTML, and link targets (a URL may hide in an href)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.chunks.append(" " + value + " ")
        if tag in ("br", "p", "div", "li", "tr"):
            self.chunks.append("\n")


def html_text(markup: str) -> str:
    parser = _Text()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: fall back to the raw text
        return html.unescape(markup)
    return "".join(parser.chunks)


def _allowed(address: str, allowed: tuple[str, ...]) -> bool:
    domain = address.rsplit("@", 1)[-1].lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in allowed)


def _phone_spans(text: str, regions: tuple[str, ...]) -> Iterator[tuple[int, int]]:
    for match in _PHONE_CANDIDATE.finditer(text):
        raw = match.group(0)
        digits = sum(ch.isdigit() for ch in raw)
        if digits < 7 or digits > 15:
            continue
        if not raw.startswith("+") and digits < 10 and raw.strip("()").isdigit():
            continue  # a bare short digit run is an order number or a date far more often
        for region in regions if not raw.startswith("+") else (None,):
            try:
                number = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                yield match.span()
                break


def detect(text: str, policy: Policy) -> list[tuple[str, int, int]]:
    """(kind, start, end) of everything found in one piece of text."""
    text = text[:MAX_TEXT]
    spans: list[tuple[str, int, int]] = []
    for m in _EMAIL.finditer(text):
        if not _allowed(m.group(0), policy.allowed_domains):
            spans.append(("email", *m.span()))
    plain = [(a, b) for _, a, b in spans]
    for m in _SPELLED_EMAIL.finditer(text):
        a, b = m.span()
        if not any(a < y and x < b for x, y in plain):  # not an address already found
            spans.append(("email", a, b))
    spans += [("phone", a, b) for a, b in _phone_spans(text, policy.regions)]
    taken = [(a, b) for _, a, b in spans]
    for m in _URL.finditer(text):
        value = m.group(0)
        if any(m.start() < y and x < m.end() for x, y in taken):
            continue  # the domain of an address already found
        host = re.sub(r"^(?:https?://)?", "", value, flags=re.IGNORECASE).split("/")[0]
        if "@" in host or _allowed("x@" + host, policy.allowed_domains):
            continue
        spans.append(("url", *m.span()))
    low = text.lower()  # same length for the scripts served, so spans still line up
    if len(low) != len(text):
        low = text
    opened = sorted({n for gate, ns in _GATES.items() if gate in low for n in ns})
    for n in opened:
        spans += [("solicitation", *m.span()) for m in _SOLICITATION[n][0].finditer(low)]
    return spans


def redact(text: str, spans: Iterable[tuple[str, int, int]]) -> str:
    out, last = [], 0
    for _, start, end in sorted(spans, key=lambda s: (s[1], -s[2])):
        if start < last:
            start = last
        if start >= end:
            continue
        out += [text[last:start], REDACTED]
        last = end
    out.append(text[last:])
    return "".join(out)


def parse(raw: bytes) -> Message:
    """The compat32 parser: an order of magnitude cheaper than the modern header registry,
    and encoded words are decoded below only for the headers that are scanned."""
    return message_from_bytes(raw)


def header_text(value: object) -> str:
    """A header's text with RFC 2047 encoded words decoded (raw text if they are broken)."""
    raw = str(value)
    if "=?" not in raw:
        return raw
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # malformed encoded words, unknown charsets: scan what is there
        return raw


def _header_text(message: Message, name: str) -> list[str]:
    return [header_text(v) for v in message.get_all(name, []) or []]


def _part_text(part: Message) -> str | None:
    ctype = part.get_content_type()
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        return None
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload[:MAX_TEXT].decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        text = payload[:MAX_TEXT].decode("utf-8", errors="replace")
    if ctype == "text/html":
        return html_text(text)
    if ctype.startswith("text/") or ctype in ("application/json", "application/xml"):
        return text
    return None  # binary attachments: not cheap to read, not scanned


def scan(raw: bytes | Message, policy: Policy | None = None) -> Scan:
    """Scan a whole message; returns findings, the verdict and the message to forward."""
    policy = policy or Policy()
    try:
        message = parse(bytes(raw)) if isinstance(raw, bytes | bytearray) else raw
    except Exception:
        return Scan([Finding("malformed", "message", "block")], "block", None, malformed=True)
    findings: list[Finding] = []
    redactions: list[tuple[Message, str, list[tuple[str, int, int]]]] = []
    header_spans: dict[str, list[tuple[str, int, int, str]]] = {}
    for name in SCANNED_HEADERS:
        for value in _header_text(message, name):
            for kind, a, b in detect(value, policy):
                findings.append(Finding(kind, f"header:{name}", policy.actions[kind]))
                header_spans.setdefault(name, []).append((kind, a, b, value))
    parts = list(message.walk())
    if len(parts) > MAX_PARTS:
        findings.append(Finding("malformed", "message", "block"))
    for n, part in enumerate(parts[:MAX_PARTS]):
        if part.is_multipart():
            continue
        try:
            filename = part.get_filename()  # RFC 2231 and encoded words decoded
        except Exception:
            filename = None
        if filename:
            for kind, _, _ in detect(header_text(filename), policy):
                action = policy.actions[kind]
                findings.append(
                    Finding(kind, f"filename#{n}", "hold" if action == "redact" else action)
                )
        text = _part_text(part)
        if text is None:
            continue
        attached = part.get_content_disposition() == "attachment"
        where = f"attachment#{n}" if attached else f"{part.get_content_type()}#{n}"
        spans = detect(text, policy)
        for kind, _, _ in spans:
            action = policy.actions[kind]
            if action == "redact" and (attached or part.get_content_type() != "text/plain"):
                action = "hold"  # attachments and markup are not rewritten: a person looks
            findings.append(Finding(kind, where, action))
        if spans:
            redactions.append((part, text, spans))
    verdict = max((f.action for f in findings), key=SEVERITY.__getitem__, default="allow")
    if verdict != "redact":
        return Scan(findings, verdict, message if verdict == "allow" else None)
    for part, text, spans in redactions:
        del part["Content-Transfer-Encoding"]
        part.set_payload(redact(text, spans), charset="utf-8")
    for name, found in header_spans.items():
        value = found[0][3]
        new = redact(value, [(k, a, b) for k, a, b, _ in found])
        del message[name]
        message[name.title()] = (
            str(make_header([(new.encode("utf-8"), "utf-8")])) if not new.isascii() else new
        )
    return Scan(findings, verdict, message)
