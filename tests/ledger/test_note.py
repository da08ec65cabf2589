"""Signed notes and cosignatures against the golang.org/x/mod and C2SP vectors."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodes.ledger.errors import NoteError
from custodes.ledger.note import (
    MAX_NOTE_SIZE,
    CosignerKey,
    Signer,
    Verifier,
    cosign,
    cosignature_message,
    generate_cosigner_key,
    generate_signer_key,
    is_valid_key_name,
    key_id,
    open_note,
    sign_note,
    split_note,
    verify_cosignature,
)

SEED = bytes(range(32))
BODY = "example.com/log\n42\n" + base64.b64encode(bytes(32)).decode() + "\n"


@pytest.fixture(scope="module")
def keypair() -> tuple[Signer, Verifier]:
    skey, vkey = generate_signer_key("example.com/log")
    return Signer.from_skey(skey), Verifier.from_vkey(vkey)


# --- published vectors -----------------------------------------------------------------


def test_golang_note_signed_byte_for_byte(vectors: dict[str, Any]) -> None:
    g = vectors["signed_note"]["golang_mod_note"]
    signer = Signer.from_skey(g["skey"])
    assert sign_note(g["text"], [signer]) == g["signed_note"]
    assert signer.verifier().vkey == g["vkey"]


def test_golang_note_opens(vectors: dict[str, Any]) -> None:
    g = vectors["signed_note"]["golang_mod_note"]
    peter = Verifier.from_vkey(g["vkey"])
    enoch = Verifier.from_vkey(g["second_verifier_vkey"])
    assert peter.vkey == g["vkey"] and enoch.vkey == g["second_verifier_vkey"]
    both = g["signed_note"] + g["second_signature_line"]

    opened = open_note(both, [peter, enoch])
    assert opened.text == g["text"]
    assert [s.name for s in opened.signatures] == ["PeterNeumann", "EnochRoot"]
    assert opened.unverified == ()
    assert "".join(s.line for s in opened.signatures) == both[len(g["text"]) + 1 :]

    only_peter = open_note(both, [peter])
    assert [s.name for s in only_peter.signatures] == ["PeterNeumann"]
    assert [s.line for s in only_peter.unverified] == [g["second_signature_line"]]

    with pytest.raises(NoteError, match="no verified signature"):
        open_note(g["signed_note"], [enoch])


def test_golang_rejected_vkeys(vectors: dict[str, Any]) -> None:
    for vkey in vectors["signed_note"]["golang_mod_note"]["rejected_vkeys"]:
        with pytest.raises(NoteError):
            Verifier.from_vkey(vkey)


def test_c2sp_example_note(vectors: dict[str, Any]) -> None:
    ex = vectors["signed_note"]["c2sp_signed_note_example"]
    v = Verifier.from_vkey(ex["vkey"])
    opened = open_note(ex["signed_note"], [v])
    assert opened.text == "This is an example message.\n"
    assert opened.signatures[0].name == "example.com/foo"
    assert opened.signatures[0].key_id == 0x530D903A


def test_key_id_derivation(vectors: dict[str, Any]) -> None:
    pairs = vectors["signed_note"]["transparency_dev_formats_test_keys"]["pairs"]
    for pair in pairs:
        signer = Signer.from_skey(pair["skey"])
        verifier = Verifier.from_vkey(pair["vkey"])
        assert signer.verifier() == verifier
        assert signer.verifier().vkey == pair["vkey"]
        name, id_hex, key64 = pair["vkey"].split("+", 2)
        raw = base64.b64decode(key64)
        want = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
        assert key_id(name, raw) == int.from_bytes(want, "big") == int(id_hex, 16)
        # Every pair signs and opens.
        note = sign_note("hello\n", [signer])
        assert open_note(note, [verifier]).text == "hello\n"


# --- keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", "a+b", "a b", "a\tb", "a\nb", "a\u2003b", "a\u00a0b", "a\u3000b", "a\x01b"]
)
def test_bad_key_names(name: str) -> None:
    assert not is_valid_key_name(name)
    with pytest.raises(NoteError, match="invalid key name"):
        generate_signer_key(name)


def test_good_key_names() -> None:
    for name in ("example.com/log", "PeterNeumann", "ünïcødé", "a-b_c"):
        assert is_valid_key_name(name)


def test_generated_keys_round_trip(keypair: tuple[Signer, Verifier]) -> None:
    signer, verifier = keypair
    assert signer.verifier() == verifier
    assert Verifier.from_vkey(verifier.vkey) == verifier
    assert "PRIVATE" not in repr(signer)


def test_malformed_keys(keypair: tuple[Signer, Verifier]) -> None:
    _, verifier = keypair
    name, id_hex, key64 = verifier.vkey.split("+", 2)
    wrong_id = f"{(int(id_hex, 16) ^ 1):08x}"
    bad_vkeys = {
        f"{name}+{wrong_id}+{key64}": "does not match",
        f"{name}+{id_hex[:7]}+{key64}": "malformed",
        f"{name}+{id_hex}": "malformed",
        f"{name}+{id_hex}+{key64[:-2]}": "base64",
        f"{name}+{id_hex}+": "malformed",
    }
    for vkey, match in bad_vkeys.items():
        with pytest.raises(NoteError, match=match):
            Verifier.from_vkey(vkey)
    skey, _ = generate_signer_key("log")
    _, _, n, i, k = skey.split("+", 4)
    bad_skeys = {
        skey.replace("PRIVATE", "PUBLIC"): "malformed",
        f"PRIVATE+KEY+{n}+{(int(i, 16) ^ 1):08x}+{k}": "does not match",
        f"PRIVATE+KEY+{n}+{i}": "malformed",
        f"PRIVATE+KEY+{n}+{i}+{k[:-4]}": "seed must be 32 bytes",
        f"PRIVATE+KEY+a b+{i}+{k}": "invalid key name",
    }
    for bad, match in bad_skeys.items():
        with pytest.raises(NoteError, match=match):
            Signer.from_skey(bad)


# --- notes ---------------------------------------------------------------------------


def test_sign_rules(keypair: tuple[Signer, Verifier]) -> None:
    signer, _ = keypair
    with pytest.raises(NoteError, match="end with a newline"):
        sign_note("no newline", [signer])
    with pytest.raises(NoteError, match="more than one signer"):
        sign_note("x\n", [signer, signer])
    with pytest.raises(NoteError, match="control character"):
        sign_note("tab\there\n", [signer])
    with pytest.raises(NoteError, match="at least one signer"):
        sign_note("x\n", [])


def test_open_rejects_malformed(keypair: tuple[Signer, Verifier]) -> None:
    signer, verifier = keypair
    note = sign_note("text\n", [signer])
    sig_line = note.split("\n\n", 1)[1]
    malformed = {
        "text\n" + sig_line: "no blank line",
        note.rstrip("\n"): "final newline",
        "text\n\n": "missing signatures",
        "text\n\n- " + sig_line[2:]: "em dash",
        "text\n\n\u2014 nobase64\n": "want",
        "text\n\n\u2014 a+b AAAAAAA=\n": "want",
        "text\n\n\u2014 log AAAA\n": "too short",
        "text\n\n\u2014 log !!!!\n": "base64",
        "te\x00xt\n\n" + sig_line: "control character",
        "text\n\n" + sig_line * 101: "over the limit",
    }
    for bad, match in malformed.items():
        with pytest.raises(NoteError, match=match):
            open_note(bad, [verifier])


def test_open_rejects_oversized_note(keypair: tuple[Signer, Verifier]) -> None:
    signer, verifier = keypair
    big = sign_note("a" * (MAX_NOTE_SIZE - 10) + "\n", [signer])
    with pytest.raises(NoteError, match="limit"):
        open_note(big, [verifier])


def test_bad_signature_from_known_key_is_an_error(keypair: tuple[Signer, Verifier]) -> None:
    signer, verifier = keypair
    note = sign_note("original\n", [signer])
    forged = note.replace("original", "tampered")
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(forged, [verifier])


def test_unknown_keys_kept_unverified_and_duplicates_dropped(
    keypair: tuple[Signer, Verifier],
) -> None:
    signer, verifier = keypair
    other = Signer.from_skey(generate_signer_key("other")[0])
    note = sign_note("x\n", [signer, other])
    _, sigs = split_note(note)
    doubled = note + "".join(s.line for s in sigs)
    opened = open_note(doubled, [verifier])
    assert [s.name for s in opened.signatures] == ["example.com/log"]
    assert [s.name for s in opened.unverified] == ["other"]
    with pytest.raises(NoteError, match="no verified signature"):
        open_note(note, [])


def test_same_name_different_key_is_unknown(keypair: tuple[Signer, Verifier]) -> None:
    signer, _ = keypair
    impostor = Verifier.from_vkey(generate_signer_key(signer.name)[1])
    with pytest.raises(NoteError, match="no verified signature"):
        open_note(sign_note("x\n", [signer]), [impostor])


note_text = st.lists(
    st.text(alphabet=st.characters(min_codepoint=0x20, blacklist_categories=("Cs",)), max_size=40),
    min_size=1,
    max_size=6,
).map(lambda lines: "\n".join(lines) + "\n")


@settings(max_examples=60, deadline=None)
@given(note_text, st.data())
def test_note_round_trip_and_tamper(
    keypair: tuple[Signer, Verifier], text: str, data: st.DataObject
) -> None:
    signer, verifier = keypair
    note = sign_note(text, [signer])
    opened = open_note(note, [verifier])
    assert opened.text == text
    assert sign_note(opened.text, [signer]) == note  # Ed25519 is deterministic

    pos = data.draw(st.integers(0, len(text) - 1), label="pos")
    repl = data.draw(st.sampled_from("aZ0 \u00e9\u2014"), label="repl")
    tampered_text = text[:pos] + repl + text[pos + 1 :]
    if tampered_text == text:
        tampered_text = text[:pos] + "#" + text[pos:]
    with pytest.raises(NoteError):
        open_note(tampered_text + note[len(text) :], [verifier])


# --- cosignatures --------------------------------------------------------------------


def test_cosignature_round_trip() -> None:
    key = CosignerKey.from_seed("witness.example/w1", SEED)
    want_id = hashlib.sha256(b"witness.example/w1\n\x04" + key.public_key).digest()[:4]
    assert key.key_id == int.from_bytes(want_id, "big")
    assert CosignerKey.from_vkey(key.vkey) == key

    line = cosign(BODY, SEED, "witness.example/w1", 1679315147)
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    payload = base64.b64decode(line.split(" ")[2])
    assert len(payload) == 4 + 8 + 64
    assert payload[4:12] == (1679315147).to_bytes(8, "big")
    assert verify_cosignature(BODY, line, key) == 1679315147

    msg = cosignature_message(BODY, 1679315147)
    assert msg == b"cosignature/v1\ntime 1679315147\n" + BODY.encode()


def test_cosignature_rejections() -> None:
    key = CosignerKey.from_seed("w", SEED)
    other = CosignerKey.from_seed("w", bytes(32))
    line = cosign(BODY, SEED, "w", 7)
    with pytest.raises(NoteError, match="invalid cosignature"):
        verify_cosignature(BODY.replace("42", "43"), line, key)
    with pytest.raises(NoteError, match="not from"):
        verify_cosignature(BODY, line, other)
    with pytest.raises(NoteError, match="timestamp"):
        cosign(BODY, SEED, "w", 1 << 63)
    with pytest.raises(NoteError, match="seed must be 32 bytes"):
        cosign(BODY, SEED[:31], "w", 7)


def test_vkey_types_are_not_interchangeable() -> None:
    cosigner = CosignerKey.from_seed("w", SEED)
    _, vkey = generate_signer_key("w")
    with pytest.raises(NoteError, match="0x04"):
        Verifier.from_vkey(cosigner.vkey)
    with pytest.raises(NoteError, match="0x01"):
        CosignerKey.from_vkey(vkey)
    seed, cvkey = generate_cosigner_key("w2")
    assert CosignerKey.from_seed("w2", seed).vkey == cvkey


def test_cosigned_checkpoint_opens_with_log_and_witness(
    keypair: tuple[Signer, Verifier],
) -> None:
    signer, verifier = keypair
    witness = CosignerKey.from_seed("witness.example/w1", SEED)
    note = sign_note(BODY, [signer]) + cosign(BODY, SEED, witness.name, 100)
    opened = open_note(note, [verifier, witness])
    assert [s.name for s in opened.signatures] == ["example.com/log", "witness.example/w1"]
    only_witness = open_note(note, [witness])
    assert [s.name for s in only_witness.unverified] == ["example.com/log"]
    bad = sign_note(BODY, [signer]) + cosign(BODY.replace("42", "41"), SEED, witness.name, 100)
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(bad, [verifier, witness])


def test_c2sp_cosignature_example_layout() -> None:
    """The tlog-cosignature spec example: key ID then the 8-byte time of its message."""
    example = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
        "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZC"
        "B9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
    )
    _, sigs = split_note(example)
    cosig = sigs[1]
    assert len(cosig.signature) == 8 + 64
    assert int.from_bytes(cosig.signature[:8], "big") == 1679315147
