"""Display masks: enough for a person to recognise a record, not enough to contact anyone."""

from __future__ import annotations

import phonenumbers


def mask_email(email: str) -> str:
    """`jane.doe@example.com` -> `j***@e***.com`."""
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    head = labels[0][:1] if labels and labels[0] else ""
    return f"{local[:1]}***@{head}***" + (f".{tld}" if tld else "")


def mask_phone(e164: str, country_code: int | None = None) -> str:
    """`+14155550123` -> `+1 ***-***-0123` (country code and last four digits only)."""
    if country_code is None:
        try:
            country_code = phonenumbers.parse(e164, None).country_code
        except phonenumbers.NumberParseException:
            country_code = None
    prefix = f"+{country_code} " if country_code else ""
    national = e164.lstrip("+")[len(str(country_code)) :] if country_code else e164.lstrip("+")
    # Fewer than half the national number's digits, never more than four: in short numbering
    # plans (Niue, St Helena: 4-5 digits) "the last four" would be the whole number.
    shown = min(4, (len(national) - 1) // 2)
    return f"{prefix}***-***-{national[-shown:] if shown else ''}"


MAX_NAME_PARTS = 3  # a mask is for recognising a record, and it must fit its column


def mask_name(name: str) -> str:
    """`Jane Doe` -> `J*** D***`. Parts of one character show nothing (a name written as
    single characters would otherwise appear whole), and at most three parts are shown."""
    parts = name.split()
    masked = [f"{part[:1]}***" if len(part) > 1 else "***" for part in parts[:MAX_NAME_PARTS]]
    if len(parts) > MAX_NAME_PARTS:
        masked.append("…")
    return " ".join(masked) or "***"
