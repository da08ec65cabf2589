"""Export to static tiles, verify offline, and catch every kind of tampering at the right index."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from custodes.ledger.errors import LedgerError, NoteError
from custodes.ledger.export import export_log
from custodes.ledger.note import CosignerKey, Signer, Verifier, generate_signer_key
from custodes.ledger.sequencer import Sequencer
from custodes.ledger.service import proof_document, verify_proof_document
from custodes.ledger.storage import LedgerReader
from custodes.ledger.tiles import decode_entry_bundle, encode_entry_bundle, entries_path
from custodes.ledger.verify import fetcher_for, folder_fetcher, verify_log
from custodes.web.app import create_app

ORIGIN = "custodes.test/ledger"
SIZE = 700  # two full bundles and a partial one


@pytest.fixture
def signer() -> Signer:
    return Signer.from_skey(generate_signer_key(ORIGIN)[0])


@pytest.fixture
def exported(engine: Engine, signer: Signer, tmp_path: Path) -> Path:
    with Sequencer(engine, signer) as seq:
        for start in range(0, SIZE, 100):
            seq.append_batch([b'{"n":%d}' % i for i in range(start, start + 100)])
    folder = tmp_path / "export"
    report = export_log(LedgerReader(engine), folder)
    assert (report.size, report.entry_bundles) == (SIZE, 3)
    return folder


def _verify(folder: Path, signer: Signer) -> tuple[bool, int | None]:
    report = verify_log(folder_fetcher(folder), signer.verifier())
    return report.ok, report.first_bad_index


def test_untouched_export_verifies(exported: Path, signer: Signer) -> None:
    assert _verify(exported, signer) == (True, None)
    assert (exported / "tile/0/000").stat().st_size == 256 * 32
    assert (exported / "tile/0/002.p/188").is_file()
    assert (exported / "tile/1/000.p/2").is_file()
    assert (exported / "tile/entries/002.p/188").is_file()


def _edit_bundle(folder: Path, n: int, width: int, change: Callable[[list[bytes]], None]) -> None:
    path = folder / entries_path(n, width)
    items = decode_entry_bundle(path.read_bytes())
    change(items)
    # Re-encode without the library's width check, as an attacker would.
    path.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in items))


def _set(i: int, value: bytes) -> Callable[[list[bytes]], None]:
    def change(items: list[bytes]) -> None:
        items[i] = value

    return change


TAMPERS: dict[str, tuple[Callable[[Path], None], int]] = {
    "edit": (lambda f: _edit_bundle(f, 1, 256, _set(44, b'{"n":999999}')), 256 + 44),
    "delete": (lambda f: _edit_bundle(f, 0, 256, lambda items: items.pop(17)), 17),
    "insert": (lambda f: _edit_bundle(f, 2, 188, lambda items: items.insert(5, b"{}")), 512 + 5),
    "swap": (
        lambda f: _edit_bundle(
            f, 1, 256, lambda items: items.__setitem__(slice(3, 5), [items[4], items[3]])
        ),
        256 + 3,
    ),
    "truncate": (
        lambda f: _edit_bundle(f, 2, 188, lambda items: items.__delitem__(slice(150, None))),
        512 + 150,
    ),
    "missing bundle": (lambda f: (f / entries_path(1, 256)).unlink(), 256),
    "extra entry at the end": (
        lambda f: _edit_bundle(f, 2, 188, lambda items: items.append(b"{}")),
        SIZE,
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERS))
def test_tampering_is_detected_at_the_first_bad_index(
    exported: Path, signer: Signer, kind: str
) -> None:
    tamper, want = TAMPERS[kind]
    tamper(exported)
    assert _verify(exported, signer) == (False, want)


def test_tampering_entries_and_tiles_together_is_still_detected(
    exported: Path, signer: Signer
) -> None:
    _edit_bundle(exported, 0, 256, _set(3, b"{}"))
    (exported / "tile/0/000").write_bytes(bytes(256 * 32))
    ok, _ = _verify(exported, signer)
    assert not ok


def test_wrong_key_or_forged_checkpoint_is_refused(exported: Path, signer: Signer) -> None:
    other = Verifier.from_vkey(generate_signer_key(ORIGIN)[1])
    with pytest.raises(NoteError):
        verify_log(folder_fetcher(exported), other)
    note = (exported / "checkpoint").read_text()
    (exported / "checkpoint").write_text(note.replace("\n700\n", "\n701\n"))
    with pytest.raises(NoteError):
        verify_log(folder_fetcher(exported), signer.verifier())
    (exported / "checkpoint").write_text("garbage")
    with pytest.raises((NoteError, LedgerError)):
        verify_log(folder_fetcher(exported), signer.verifier())


def test_required_witness_missing_is_refused(exported: Path, signer: Signer) -> None:
    from custodes.ledger.note import generate_cosigner_key

    _, vkey = generate_cosigner_key("witness.test")
    with pytest.raises(NoteError, match="no cosignature"):
        verify_log(folder_fetcher(exported), signer.verifier(), [CosignerKey.from_vkey(vkey)])


def test_proof_document_round_trip(engine: Engine, exported: Path, signer: Signer) -> None:
    text = proof_document(engine, 123)
    checkpoint, entry = verify_proof_document(text, signer.verifier(), ORIGIN)
    assert checkpoint.size == SIZE and entry == b'{"n":123}'
    with pytest.raises(LedgerError):
        verify_proof_document(text, signer.verifier(), ORIGIN, entry=b'{"n":124}')
    tampered = text.replace("index 123", "index 124")
    with pytest.raises(LedgerError):
        verify_proof_document(tampered, signer.verifier(), ORIGIN)
    with pytest.raises(LedgerError):
        proof_document(engine, SIZE)


def test_http_tiles_match_export(engine: Engine, exported: Path) -> None:
    client = TestClient(create_app(engine))
    assert client.get("/ledger/checkpoint").text == (exported / "checkpoint").read_text()
    for path in ("tile/0/001", "tile/1/000.p/2", "tile/entries/002.p/188"):
        response = client.get(f"/ledger/{path}")
        assert response.status_code == 200
        assert response.content == (exported / path).read_bytes()
    assert client.get("/ledger/tile/0/001").headers["cache-control"].endswith("immutable")
    missing = client.get("/ledger/tile/0/009")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/ledger/tile/0/x1").status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(engine: Engine) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/ledger"
    server.should_exit = True
    thread.join(timeout=10)


def test_verify_over_loopback_http(exported: Path, signer: Signer, live_server: str) -> None:
    report = verify_log(fetcher_for(live_server), signer.verifier())
    assert report.ok and report.size == SIZE


def test_non_loopback_sources_are_refused() -> None:
    with pytest.raises(LedgerError, match="loopback"):
        fetcher_for("http://10.1.2.3/ledger")


def test_bundle_helpers_agree(exported: Path) -> None:
    data = (exported / entries_path(0, 256)).read_bytes()
    assert encode_entry_bundle(decode_entry_bundle(data, 256)) == data
    shutil.rmtree(exported)


def _move_last_of_bundle_0_to_bundle_1(folder: Path) -> None:
    first = folder / entries_path(0, 256)
    second = folder / entries_path(1, 256)
    a, b = decode_entry_bundle(first.read_bytes()), decode_entry_bundle(second.read_bytes())
    b.insert(0, a.pop())  # same order of entries overall, wrong bundles
    first.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in a))
    second.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in b))


@pytest.mark.parametrize(
    "tamper",
    [
        _move_last_of_bundle_0_to_bundle_1,
        lambda f: (f / entries_path(2, 188)).write_bytes(
            (f / entries_path(2, 188)).read_bytes() + b"\x00"
        ),
        lambda f: (f / "tile/0/001").write_bytes(
            b"\x00" * 32 + (f / "tile/0/001").read_bytes()[32:]
        ),
        lambda f: (f / "tile/1/000.p/2").write_bytes(b"\x01" * 64),
    ],
    ids=["entry-moved-between-bundles", "stray-byte", "level-0-tile", "level-1-tile"],
)
def test_layout_and_tile_tampering_is_caught(
    exported: Path, signer: Signer, tamper: Callable[[Path], None]
) -> None:
    tamper(exported)
    report = verify_log(folder_fetcher(exported), signer.verifier())
    assert not report.ok and report.problem


def test_a_checkpoint_of_another_origin_is_refused(engine: Engine, tmp_path: Path) -> None:
    """Same key, different log name: not this log's checkpoint."""
    skey, _ = generate_signer_key(ORIGIN)
    other = Signer.from_skey(skey)
    with Sequencer(engine, other, origin="evil.example/other-log") as seq:
        seq.append_batch([b'{"n":1}'])
    folder = tmp_path / "export"
    export_log(LedgerReader(engine), folder)
    with pytest.raises(LedgerError):
        verify_log(folder_fetcher(folder), other.verifier())


def test_a_checkpoint_that_is_not_text_is_a_clear_error(exported: Path, signer: Signer) -> None:
    (exported / "checkpoint").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(NoteError, match="UTF-8"):
        verify_log(folder_fetcher(exported), signer.verifier())
