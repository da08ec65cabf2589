"""DLP: planted contact details are found in every encoding a message allows, findings carry
no matched text, redaction removes them, and no input crashes the scanner."""

from __future__ import annotations

import base64
import quopri
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodes.relay.dlp import Policy, html_text, scan

POLICY = Policy(allowed_domains=("relay.example",))
REDACT_ALL = Policy(
    actions={k: "redact" for k in ("email", "phone", "url", "solicitation")},
    allowed_domains=("relay.example",),
)
EMAIL = "jane.doe@gmail.com"
PHONE = "+44 20 7946 0958"


def raw(
    body: str, *, cte: str = "8bit", ctype: str = "text/plain", subject: str = "Order"
) -> bytes:
    if cte == "base64":
        payload = base64.encodebytes(body.encode()).decode()
    elif cte == "quoted-printable":
        payload = quopri.encodestring(body.encode()).decode()
    else:
        payload = body
    return (
        f"From: shop@seller.example\r\nTo: a1b2c3@relay.example\r\nSubject: {subject}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {ctype}; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n{payload}\r\n"
    ).encode()


@pytest.mark.parametrize("cte", ["8bit", "base64", "quoted-printable"])
@pytest.mark.parametrize("ctype", ["text/plain", "text/html"])
@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        (EMAIL, "email"),
        ("jane at gmail dot com", "email"),
        ("jane [at] gmail [dot] com", "email"),
        (PHONE, "phone"),
        ("(415) 555-2671", "phone"),
        ("https://cheap.example/deal", "url"),
        ("www.cheap-deals.com", "url"),
        ("message me on WhatsApp", "solicitation"),
    ],
)
def test_planted_details_are_found(planted: str, kind: str, cte: str, ctype: str) -> None:
    body = (
        f"Thanks for your order. {planted} Regards"
        if ctype == "text/plain"
        else (f"<p>Thanks for your order.</p><div>{planted}</div>")
    )
    result = scan(raw(body, cte=cte, ctype=ctype), POLICY)
    assert kind in result.kinds
    assert planted not in repr([f.to_json() for f in result.findings])


def test_headers_with_encoded_words_and_attachments() -> None:
    subject = "=?utf-8?b?" + base64.b64encode(f"Ring {PHONE}".encode()).decode() + "?="
    assert "phone" in scan(raw("hello", subject=subject), POLICY).kinds
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@x.example", "a@relay.example", "Hi"
    message.set_content("See the attached invoice.")
    message.add_attachment(
        f"name,contact\nJane,{EMAIL}\n".encode(), "text", "csv", filename="invoice.csv"
    )
    result = scan(message.as_bytes(), POLICY)
    assert [f.part for f in result.findings if f.kind == "email"] == ["attachment#2"]
    assert result.verdict == "hold"  # an attachment is not rewritten: a person looks


def test_languages_the_marketplace_serves() -> None:
    for phrase in (
        "Contactez-moi en dehors de la plateforme",
        "Kontaktieren Sie mich direkt",
        "Escríbeme fuera de la plataforma",
        "Contattami fuori dalla piattaforma",
        "Fale comigo fora da plataforma",
        "Neem contact met mij op buiten het platform",
        "直接連絡してください",
        "加我微信",
    ):
        assert "solicitation" in scan(raw(phrase), POLICY).kinds, phrase


def test_clean_messages_and_relay_aliases_pass() -> None:
    body = "Your parcel left today; order 20260105 ships in 3-5 days. Reply to a1b2c3@relay.example"
    result = scan(raw(body), POLICY)
    assert result.findings == [] and result.verdict == "allow"


def test_redaction_removes_every_planted_detail() -> None:
    body = f"Write to {EMAIL} or call {PHONE}; see www.cheap-deals.com, contact me directly."
    result = scan(raw(body, cte="quoted-printable"), REDACT_ALL)
    assert result.verdict == "redact" and result.message is not None
    text = result.message.get_payload(decode=True).decode()
    for planted in (EMAIL, PHONE, "cheap-deals", "contact me directly"):
        assert planted not in text
    assert "Write to" in text


def test_actions_are_configurable() -> None:
    blocking = Policy(
        actions={"email": "block", "phone": "allow", "url": "allow", "solicitation": "allow"}
    )
    assert scan(raw(f"mail {EMAIL}"), blocking).verdict == "block"
    assert scan(raw(f"call {PHONE}"), blocking).verdict == "allow"
    with pytest.raises(ValueError):
        Policy(actions={"email": "shred"})


def test_html_text_keeps_link_targets() -> None:
    assert "https://x.example/p" in html_text('<a href="https://x.example/p">shop</a>')


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    result = scan(data, POLICY)
    assert result.verdict in ("allow", "redact", "hold", "block")


_parts = st.recursive(
    st.tuples(
        st.sampled_from(["text/plain", "text/html", "text/csv", "application/octet-stream"]),
        st.sampled_from(["utf-8", "latin-1", "x-unknown", "utf-16"]),
        st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-weird"]),
        st.text(max_size=200),
    ),
    lambda children: st.lists(children, min_size=1, max_size=4),
    max_leaves=8,
)


def _render(node: object, depth: int = 0) -> str:
    if isinstance(node, list):
        boundary = f"b{depth}x{len(node)}"
        inner = "".join(f"--{boundary}\r\n{_render(child, depth + 1)}\r\n" for child in node)
        return f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n{inner}--{boundary}--'
    ctype, charset, cte, text = node  # type: ignore[misc]
    return (
        f"Content-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
        f"{text}"
    )


@settings(max_examples=200, deadline=None)
@given(_parts, st.text(max_size=80))
def test_arbitrary_mime_trees_never_crash(tree: object, subject: str) -> None:
    head = f"From: s@x.example\r\nSubject: =?utf-8?q?{subject}?=\r\nMIME-Version: 1.0\r\n"
    result = scan((head + _render(tree)).encode("utf-8", errors="surrogatepass"), REDACT_ALL)
    if result.message is not None:
        result.message.as_bytes()  # a redacted message can always be serialised


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([EMAIL, PHONE, "jane at gmail dot com"]),
    st.sampled_from(["8bit", "base64", "quoted-printable"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd")), max_size=60),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd")), max_size=60),
)
def test_planted_detail_survives_any_surrounding_text(planted, cte, before, after) -> None:
    result = scan(raw(f"{before} {planted} {after}", cte=cte), REDACT_ALL)
    assert result.findings
    assert result.message is not None
    decoded = result.message.get_payload(decode=True).decode("utf-8", errors="replace")
    assert planted not in decoded


def test_attachment_file_names_are_scanned() -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@x.example", "a@relay.example", "Hi"
    message.set_content("See attached.")
    message.add_attachment(b"\x89PNG", "image", "png", filename=f"call {PHONE}.png")
    result = scan(message.as_bytes(), REDACT_ALL)
    assert [(f.kind, f.part, f.action) for f in result.findings] == [
        ("phone", "filename#2", "hold")
    ]
    assert result.verdict == "hold"
