"""Canonical forms of e-mails and phones, so the blind index matches however a value is typed."""

from __future__ import annotations

import re

import phonenumbers

from custodes.errors import InputError

# Deliberately conservative: one @, a dotted domain, no spaces or control characters.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")


def normalise_email(raw: str) -> str:
    """Trim and lowercase; reject anything that is not a plausible single address."""
    value = raw.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise InputError("not a valid e-mail address")
    return value


_E164 = re.compile(r"^\+([1-9]\d{6,14})$")


def normalise_phone(raw: str, default_region: str | None = None) -> tuple[str, int]:
    """E.164 and the country code, through libphonenumber; the number must be possible.

    Input already in strict E.164 skips libphonenumber's free-text parser (the import hot path);
    the length check is still libphonenumber's own.
    """
    value = raw.strip()
    strict = _E164.match(value)
    if strict:
        number = _from_e164_digits(strict.group(1))
        if number is not None:
            if not phonenumbers.is_possible_number(number):
                raise InputError("not a valid phone number")
            return value, number.country_code or 0
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InputError("not a valid phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InputError("not a valid phone number")
    if number.extension:
        # E.164 has no room for one, and dropping it silently would lose what was given.
        raise InputError("phone extensions are not supported; give the number without it")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, number.country_code or 0


def _from_e164_digits(digits: str) -> phonenumbers.PhoneNumber | None:
    """Split E.164 digits into country code and national number, or None to use the parser."""
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national[0] == "0":
                return None  # leading zeros (e.g. Italy) need the full parser's bookkeeping
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None
