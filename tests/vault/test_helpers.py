"""Normalisation, masks and pseudonyms."""

from __future__ import annotations

import pytest

from custodes.errors import InputError
from custodes.vault.masking import mask_email, mask_name, mask_phone
from custodes.vault.normalise import normalise_email, normalise_phone
from custodes.vault.pseudonym import blind_index, customer_pseudonym


def test_masks() -> None:
    assert mask_email("jane.doe@example.com") == "j***@e***.com"
    assert mask_phone("+14155552671") == "+1 ***-***-2671"
    assert mask_phone("+14155552671", 1) == "+1 ***-***-2671"
    assert mask_name("Jane Doe") == "J*** D***"


@pytest.mark.parametrize("raw", ["", "no-at", "a@b", "a b@c.com", "a@@b.com", "x" * 300 + "@a.com"])
def test_bad_emails_rejected(raw: str) -> None:
    with pytest.raises(InputError):
        normalise_email(raw)


def test_email_normalised_for_blind_index() -> None:
    key = b"k" * 32
    a = blind_index(key, "email", normalise_email("  Jane@Example.COM "))
    b = blind_index(key, "email", normalise_email("jane@example.com"))
    assert a == b
    assert blind_index(key, "phone", "jane@example.com") != a


@pytest.mark.parametrize(
    ("raw", "region", "want"),
    [
        ("+14155552671", None, "+14155552671"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("020 7946 0123", "GB", "+442079460123"),
        ("+39 06 1234 5678", None, "+390612345678"),
    ],
)
def test_phones_to_e164(raw: str, region: str | None, want: str) -> None:
    assert normalise_phone(raw, region)[0] == want


@pytest.mark.parametrize("raw", ["+1", "hello", "+999999", "12"])
def test_bad_phones_rejected(raw: str) -> None:
    with pytest.raises(InputError):
        normalise_phone(raw, None)


def test_pseudonyms_are_salted_and_keyed() -> None:
    key = b"p" * 32
    a = customer_pseudonym(key, b"salt-1", "C1")
    assert a == customer_pseudonym(key, b"salt-1", "C1")
    assert a != customer_pseudonym(key, b"salt-2", "C1")
    assert a != customer_pseudonym(b"q" * 32, b"salt-1", "C1")
    assert a.startswith("cp_") and "C1" not in a


def test_masks_never_show_a_whole_short_number_or_name() -> None:
    from custodes.vault.masking import mask_name, mask_phone

    assert mask_phone("+6834002") == "+683 ***-***-2"  # Niue: 4-digit numbers
    assert mask_phone("+29022222") == "+290 ***-***-22"  # St Helena: 5 digits
    assert mask_phone("+14155550123") == "+1 ***-***-0123"
    assert mask_name("王 小 明") == "*** *** ***"
    long_name = " ".join("ab" for _ in range(100))
    assert len(mask_name(long_name)) < 200 and mask_name(long_name).endswith("…")


def test_a_phone_extension_is_refused_rather_than_dropped() -> None:
    import pytest

    from custodes.errors import InputError
    from custodes.vault.normalise import normalise_phone

    with pytest.raises(InputError, match="extension"):
        normalise_phone("+1 415 555 0123 ext. 45")
