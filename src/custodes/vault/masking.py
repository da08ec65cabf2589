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
    return f"{prefix}***-***-{e164[-4:]}"


def mask_name(name: str) -> str:
    """`Jane Doe` -> `J*** D***`."""
    return " ".join(f"{part[:1]}***" for part in name.split()) or "***"
