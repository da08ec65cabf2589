"""The witness (c2sp.org/tlog-witness): core rules, state durability, HTTP contract, client."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from custodes.ledger.checkpoint import Checkpoint, sign_checkpoint
from custodes.ledger.note import (
    CosignerKey,
    Signer,
    Verifier,
    generate_signer_key,
    sign_note,
    split_note,
    verify_cosignature,
)
from custodes.ledger.proof import MemoryTree
from custodes.ledger.rfc6962 import EMPTY_ROOT
from custodes.ledger.witness import (
    AddCheckpointRequest,
    LogRecord,
    Witness,
    WitnessBadRequest,
    WitnessConflict,
    WitnessForbidden,
    WitnessKey,
    WitnessState,
    WitnessStateError,
    WitnessUnavailable,
    WitnessUnknownLog,
    WitnessUnprocessable,
    check_loopback_url,
    generate_witness_key,
    load_witness_key,
    log_keys_from_vkeys,
    submit_checkpoint,
    write_witness_key,
)
from custodes.ledger.witness import state as state_module
from custodes.ledger.witness.cli import witness_app
from custodes.ledger.witness.http import create_witness_app

ORIGIN = "custodes.example/ledger"
NOW = 1_700_000_000
LOCAL = "http://127.0.0.1"


def _signer(name: str = ORIGIN) -> Signer:
    skey, _ = generate_signer_key(name)
    return Signer.from_skey(skey)


def _tree(n: int, tag: str = "e") -> MemoryTree:
    return MemoryTree.from_entries(f"{tag}{i}".encode() for i in range(n))


class Log:
    """An in-memory log that signs checkpoints, as the ledger would."""

    def __init__(self, size: int = 40, tag: str = "e", signer: Signer | None = None) -> None:
        self.tree = _tree(size, tag)
        self.signer = signer or _signer()

    def note(self, size: int, origin: str = ORIGIN) -> str:
        return sign_checkpoint(Checkpoint(origin, size, self.tree.root(size)), self.signer)

    def proof(self, old: int, new: int) -> list[bytes]:
        return self.tree.consistency_proof(old, new) if old else []


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def wkey() -> WitnessKey:
    return generate_witness_key("witness.example/w1")


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "witness" / "state.json"


@pytest.fixture
def witness(log: Log, wkey: WitnessKey, state_path: Path) -> Witness:
    return Witness(WitnessState(state_path), wkey, {ORIGIN: log.signer.verifier()})


def _add(w: Witness, log: Log, old: int, new: int, now: int = NOW) -> list[str]:
    return w.add_checkpoint(old, log.proof(old, new), log.note(new), now)


def _record(state: WitnessState) -> LogRecord:
    record = state.get(ORIGIN)
    assert record is not None
    return record


def _body(note: str) -> str:
    return split_note(note)[0]


# --- core rules ----------------------------------------------------------------------------


def test_first_checkpoint_accepted_with_old_zero(witness: Witness, log: Log) -> None:
    lines = _add(witness, log, 0, 5)
    assert len(lines) == 1 and lines[0].startswith("\u2014 witness.example/w1 ")
    assert lines[0].endswith("\n")
    assert verify_cosignature(_body(log.note(5)), lines[0], witness.cosigner_key) == NOW
    record = witness.state.get(ORIGIN)
    assert record is not None and (record.size, record.root_hash) == (5, log.tree.root(5))


def test_growth_with_consistency_proof_is_cosigned(witness: Witness, log: Log) -> None:
    _add(witness, log, 0, 5)
    for old, new in [(5, 12), (12, 13), (13, 32), (32, 32), (32, 40)]:
        lines = _add(witness, log, old, new, now=NOW + new)
        assert verify_cosignature(_body(log.note(new)), lines[0], witness.cosigner_key) == NOW + new
    # The cosignature line appended to the note is a valid witnessed checkpoint.
    cosigner = CosignerKey.from_vkey(witness.key.vkey)
    assert verify_cosignature(_body(log.note(40)), lines[0], cosigner) == NOW + 40


def test_wrong_old_size_is_a_conflict_reporting_the_recorded_size(
    witness: Witness, log: Log
) -> None:
    with pytest.raises(WitnessConflict) as before:
        _add(witness, log, 3, 5)
    assert before.value.recorded_size == 0
    _add(witness, log, 0, 12)
    for old in (0, 5, 11):
        with pytest.raises(WitnessConflict) as exc:
            _add(witness, log, old, 20)
        assert exc.value.recorded_size == 12 and not exc.value.fork
    assert _record(witness.state).size == 12


def test_rollback_is_refused(witness: Witness, log: Log) -> None:
    _add(witness, log, 0, 12)
    with pytest.raises(WitnessBadRequest, match="rollback"):
        witness.add_checkpoint(12, [], log.note(5), NOW)
    with pytest.raises(WitnessConflict) as exc:
        witness.add_checkpoint(5, [], log.note(5), NOW)
    assert exc.value.recorded_size == 12
    assert _record(witness.state).size == 12


def test_fork_at_the_same_size_is_refused(witness: Witness, log: Log) -> None:
    _add(witness, log, 0, 8)
    other = Log(tag="fork", signer=log.signer)
    with pytest.raises(WitnessConflict) as exc:
        witness.add_checkpoint(8, [], other.note(8), NOW)
    assert exc.value.fork and exc.value.recorded_size == 8
    assert _record(witness.state).root_hash == log.tree.root(8)


def test_fork_with_a_bigger_tree_and_its_own_proof_is_refused(witness: Witness, log: Log) -> None:
    _add(witness, log, 0, 8)
    other = Log(tag="fork", signer=log.signer)  # another history, same log key
    with pytest.raises(WitnessUnprocessable):
        witness.add_checkpoint(8, other.proof(8, 20), other.note(20), NOW)
    # Shares the first 8 leaves' sizes but not their hashes: honest proof of the wrong tree.
    with pytest.raises(WitnessUnprocessable):
        witness.add_checkpoint(8, log.proof(8, 20), other.note(20), NOW)
    assert _record(witness.state).size == 8


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: [bytes([p[0][0] ^ 1]) + p[0][1:], *p[1:]],
        lambda p: p[:-1],
        lambda p: [*p, p[0]],
        lambda p: list(reversed(p)),
        lambda p: [],
    ],
    ids=["flipped-bit", "truncated", "extra-hash", "reordered", "empty"],
)
def test_bad_proof_is_unprocessable(
    witness: Witness, log: Log, mangle: Callable[[list[bytes]], list[bytes]]
) -> None:
    _add(witness, log, 0, 5)
    with pytest.raises(WitnessUnprocessable):
        witness.add_checkpoint(5, mangle(log.proof(5, 13)), log.note(13), NOW)
    assert _record(witness.state).size == 5


def test_equal_size_with_a_proof_and_old_zero_with_a_proof_are_refused(
    witness: Witness, log: Log
) -> None:
    with pytest.raises(WitnessBadRequest, match="empty"):
        witness.add_checkpoint(0, log.proof(3, 5), log.note(5), NOW)
    _add(witness, log, 0, 5)
    with pytest.raises(WitnessUnprocessable):
        witness.add_checkpoint(5, [log.tree.root(5)], log.note(5), NOW)


def test_same_checkpoint_again_is_cosigned_again(witness: Witness, log: Log) -> None:
    _add(witness, log, 0, 5)
    lines = witness.add_checkpoint(5, [], log.note(5), NOW + 60)
    assert verify_cosignature(_body(log.note(5)), lines[0], witness.cosigner_key) == NOW + 60


def test_empty_tree_checkpoint(witness: Witness, log: Log) -> None:
    assert log.tree.root(0) == EMPTY_ROOT
    _add(witness, log, 0, 0)
    assert _record(witness.state).size == 0
    bogus = sign_checkpoint(Checkpoint(ORIGIN, 0, log.tree.root(1)), log.signer)
    with pytest.raises(WitnessUnprocessable, match="empty tree"):  # RFC 6962: MTH({}) only
        witness.add_checkpoint(0, [], bogus, NOW)
    _add(witness, log, 0, 9)
    _add(witness, log, 9, 10)


def test_unknown_log_is_forbidden(witness: Witness, log: Log) -> None:
    stranger = Log(signer=_signer("elsewhere.example/log"))
    with pytest.raises(WitnessUnknownLog, match="unknown log") as exc:
        witness.add_checkpoint(0, [], stranger.note(5, origin="elsewhere.example/log"), NOW)
    assert isinstance(exc.value, WitnessForbidden)


def test_wrong_key_and_tampered_note_are_forbidden(witness: Witness, log: Log) -> None:
    impostor = Log(signer=_signer(ORIGIN))  # same name and origin, another key
    with pytest.raises(WitnessForbidden):
        witness.add_checkpoint(0, [], impostor.note(5), NOW)
    note = log.note(5)
    body = _body(note)
    tampered = note.replace("\n5\n", "\n6\n", 1)
    assert tampered != note and _body(tampered) != body
    with pytest.raises(WitnessForbidden, match="invalid signature"):
        witness.add_checkpoint(0, [], tampered, NOW)
    assert witness.state.get(ORIGIN) is None


def test_signatures_from_unknown_keys_are_ignored(witness: Witness, log: Log) -> None:
    body = _body(log.note(5))
    extra = sign_note(body, [_signer("someone.else/key")])
    both = log.note(5) + extra.split("\n\n", 1)[1]
    assert len(split_note(both)[1]) == 2
    assert witness.add_checkpoint(0, [], both, NOW)


def test_key_rotation_accepts_any_configured_key(
    log: Log, wkey: WitnessKey, state_path: Path
) -> None:
    new_signer = _signer()
    logs = log_keys_from_vkeys([log.signer.verifier().vkey, new_signer.verifier().vkey])
    assert list(logs) == [ORIGIN] and len(logs[ORIGIN]) == 2
    w = Witness(WitnessState(state_path), wkey, logs)
    _add(w, log, 0, 5)
    rotated = Log(signer=new_signer)
    w.add_checkpoint(5, rotated.proof(5, 9), rotated.note(9), NOW)


def test_malformed_inputs_are_bad_requests(witness: Witness, log: Log) -> None:
    with pytest.raises(WitnessBadRequest):
        witness.add_checkpoint(-1, [], log.note(5), NOW)
    with pytest.raises(WitnessBadRequest):
        witness.add_checkpoint(0, [b"short"], log.note(5), NOW)
    with pytest.raises(WitnessBadRequest):
        witness.add_checkpoint(0, [], "not a note", NOW)
    with pytest.raises(WitnessBadRequest):
        witness.add_checkpoint(0, [], _body(log.note(5)) + "\n", NOW)
    with pytest.raises(WitnessBadRequest, match="limit"):
        witness.add_checkpoint(1, [EMPTY_ROOT] * 64, log.note(5), NOW)


def test_concurrent_requests_cannot_roll_back(witness: Witness, log: Log) -> None:
    _add(witness, log, 0, 5)
    results: dict[int, object] = {}
    barrier = threading.Barrier(8)

    def submit(new: int) -> None:
        barrier.wait()
        try:
            results[new] = _add(witness, log, 5, new)
        except WitnessConflict as exc:
            results[new] = exc

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(10, 40, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [n for n, r in results.items() if isinstance(r, list)]
    assert len(winners) == 1
    conflicts = [r for r in results.values() if isinstance(r, WitnessConflict)]
    assert len(conflicts) == len(threads) - 1
    assert {c.recorded_size for c in conflicts} == {winners[0]}
    assert _record(witness.state).size == winners[0]


# --- state and keys ------------------------------------------------------------------------


def test_state_is_on_disk_when_the_cosignature_is_returned(
    witness: Witness, log: Log, wkey: WitnessKey, state_path: Path
) -> None:
    _add(witness, log, 0, 7)
    data = json.loads(state_path.read_text())
    assert data["logs"][ORIGIN]["size"] == 7
    assert data["logs"][ORIGIN]["checkpoint"] == log.note(7)  # Ed25519 signing is deterministic
    assert stat.S_IMODE(state_path.stat().st_mode) == 0o600
    assert not [p for p in state_path.parent.iterdir() if p.name.endswith(".tmp")]
    # A restarted witness continues from the last cosigned size, not from zero.
    again = Witness(WitnessState(state_path), wkey, {ORIGIN: log.signer.verifier()})
    with pytest.raises(WitnessConflict) as exc:
        _add(again, log, 0, 9)
    assert exc.value.recorded_size == 7
    assert _add(again, log, 7, 9)
    assert _record(WitnessState(state_path)).size == 9


def test_no_cosignature_when_the_state_cannot_be_written(
    witness: Witness, log: Log, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(witness, log, 0, 5)
    signed: list[str] = []
    real_cosign = WitnessKey.cosign

    def spy(self: WitnessKey, body: str, ts: int) -> str:
        line = real_cosign(self, body, ts)
        signed.append(line)
        return line

    def disk_full(path: Path, data: bytes, mode: int = 0o600) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(WitnessKey, "cosign", spy)
    monkeypatch.setattr(state_module, "atomic_write", disk_full)
    with pytest.raises(WitnessStateError, match="cannot write"):
        _add(witness, log, 5, 9)
    monkeypatch.undo()
    assert _record(WitnessState(state_path)).size == 5
    # Persisting failed, so the (computed) cosignature was never handed out, and the
    # witness still expects old size 5.
    assert len(signed) == 1
    assert _add(witness, log, 5, 9)


def test_corrupt_state_stops_the_witness(witness: Witness, log: Log, state_path: Path) -> None:
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text("{not json")
    with pytest.raises(WitnessStateError, match="not valid JSON"):
        _add(witness, log, 0, 5)
    state_path.write_text(json.dumps({"format": "other", "logs": {}}))
    with pytest.raises(WitnessStateError):
        witness.state.records()
    state_path.write_text(
        json.dumps({"format": state_module.STATE_FORMAT, "logs": {ORIGIN: {"size": -1}}})
    )
    with pytest.raises(WitnessStateError, match="size"):
        witness.state.records()


def test_key_files(tmp_path: Path) -> None:
    key = generate_witness_key("witness.example/w2")
    key_path, pub_path = write_witness_key(key, tmp_path / "keys")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_path.read_text().startswith("PRIVATE+KEY+witness.example/w2+")
    assert load_witness_key(key_path) == key
    vkey = pub_path.read_text().strip()
    assert CosignerKey.from_vkey(vkey) == key.cosigner_key
    assert key.seed.hex() not in repr(key) and str(key.seed) not in repr(key)
    with pytest.raises(WitnessStateError, match="refusing to overwrite"):
        write_witness_key(generate_witness_key("witness.example/w2"), tmp_path / "keys")
    os.chmod(key_path, 0o644)
    with pytest.raises(WitnessStateError, match="chmod 600"):
        load_witness_key(key_path)
    os.chmod(key_path, 0o600)
    other = generate_witness_key("witness.example/w2")
    forged = "+".join(key.skey.split("+", 4)[:4] + other.skey.split("+", 4)[4:])  # base64 has '+'
    key_path.write_text(forged + "\n")
    with pytest.raises(WitnessStateError, match="does not match"):
        load_witness_key(key_path)
    with pytest.raises(WitnessStateError, match="invalid witness name"):
        generate_witness_key("bad name")


# --- wire format ---------------------------------------------------------------------------


def test_request_round_trip(log: Log) -> None:
    req = AddCheckpointRequest(5, tuple(log.proof(5, 13)), log.note(13))
    body = req.to_body()
    assert body.startswith(b"old 5\n") and b"\n\n" + log.note(13).encode() in body
    assert AddCheckpointRequest.parse(body) == req
    first = AddCheckpointRequest(0, (), log.note(1))
    assert first.to_body() == b"old 0\n\n" + log.note(1).encode()
    assert AddCheckpointRequest.parse(first.to_body()) == first


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"old 5\n",
        b"old 5\n\n",
        b"new 5\n\nx\n",
        b"old 05\n\nx\n",
        b"old -1\n\nx\n",
        b"old  5\n\nx\n",
        b"old 5\nnot-base64!\n\nx\n",
        b"old 5\nAAAA\n\nx\n",
        b"old 5\r\n\r\nx\n",
        b"old 5\n\n\xff\xfe\n",
        b"old 5\n" + b"".join([b"A" * 43 + b"=\n"] * 64) + b"\nx\n",
    ],
)
def test_malformed_request_bodies(body: bytes) -> None:
    with pytest.raises(WitnessBadRequest):
        AddCheckpointRequest.parse(body)


# --- HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def http(witness: Witness) -> Iterator[TestClient]:
    with TestClient(create_witness_app(witness, clock=lambda: NOW)) as client:
        yield client


def _post(http: TestClient, old: int, proof: list[bytes], note: str) -> httpx.Response:
    return http.post(
        "/add-checkpoint", content=AddCheckpointRequest(old, tuple(proof), note).to_body()
    )


def test_http_success_returns_cosignature_lines(
    http: TestClient, witness: Witness, log: Log
) -> None:
    r = _post(http, 0, [], log.note(5))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("\u2014 witness.example/w1 ") and r.text.endswith("\n")
    assert verify_cosignature(_body(log.note(5)), r.text, witness.cosigner_key) == NOW
    r = _post(http, 5, log.proof(5, 11), log.note(11))
    assert r.status_code == 200
    # The client MAY append the response to the note and open it with the witness key.
    from custodes.ledger.note import open_note

    opened = open_note(log.note(11) + r.text, [witness.cosigner_key])
    assert opened.text == _body(log.note(11))


def test_http_conflict_carries_the_recorded_size(http: TestClient, log: Log) -> None:
    assert _post(http, 0, [], log.note(5)).status_code == 200
    r = _post(http, 3, log.proof(3, 9), log.note(9))
    assert r.status_code == 409
    assert r.headers["content-type"] == "text/x.tlog.size"
    assert r.text == "5\n"


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("garbage", 400),
        ("old-above-size", 400),
        ("unknown-origin", 404),
        ("wrong-key", 403),
        ("tampered", 403),
        ("bad-proof", 422),
        ("fork", 409),
    ],
)
def test_http_error_statuses(http: TestClient, log: Log, case: str, status: int) -> None:
    assert _post(http, 0, [], log.note(5)).status_code == 200
    if case == "garbage":
        r = http.post("/add-checkpoint", content=b"\x00garbage")
    elif case == "old-above-size":
        r = _post(http, 5, [], log.note(4))
    elif case == "unknown-origin":
        r = _post(http, 0, [], Log(signer=_signer("x.example/log")).note(5, "x.example/log"))
    elif case == "wrong-key":
        r = _post(http, 5, log.proof(5, 9), Log(signer=_signer()).note(9))
    elif case == "tampered":
        r = _post(http, 5, log.proof(5, 9), log.note(9).replace("\n9\n", "\n10\n", 1))
    elif case == "bad-proof":
        r = _post(http, 5, log.proof(5, 9)[::-1], log.note(9))
    else:
        r = _post(http, 5, [], Log(tag="fork", signer=log.signer).note(5))
    assert r.status_code == status, r.text
    if status == 409:
        assert (r.headers["content-type"], r.text) == ("text/x.tlog.size", "5\n")
    assert http.post("/add-checkpoint", content=b"old 5\n\n").status_code == 400


def test_http_rejects_oversized_bodies_and_other_methods(http: TestClient) -> None:
    assert http.post("/add-checkpoint", content=b"x" * (2 << 20)).status_code == 400
    assert http.get("/add-checkpoint").status_code == 405


# --- client --------------------------------------------------------------------------------


def test_client_against_the_app(http: TestClient, witness: Witness, log: Log) -> None:
    lines = submit_checkpoint(LOCAL, 0, [], log.note(5), client=http)
    assert verify_cosignature(_body(log.note(5)), lines[0], witness.cosigner_key) == NOW
    # The log retries after a 409 with the size the witness reported.
    with pytest.raises(WitnessConflict) as exc:
        submit_checkpoint(LOCAL, 0, [], log.note(12), client=http)
    recorded = exc.value.recorded_size
    assert recorded == 5 and not exc.value.fork
    lines = submit_checkpoint(
        LOCAL + "/",
        recorded,
        log.proof(recorded, 12),
        log.note(12),
        client=http,
        witness_key=witness.cosigner_key,
    )
    assert len(lines) == 1


def test_client_maps_error_statuses(http: TestClient, log: Log) -> None:
    submit_checkpoint(LOCAL, 0, [], log.note(5), client=http)
    with pytest.raises(WitnessConflict) as fork:
        submit_checkpoint(LOCAL, 5, [], Log(tag="f", signer=log.signer).note(5), client=http)
    assert fork.value.fork and fork.value.recorded_size == 5
    with pytest.raises(WitnessUnprocessable):
        submit_checkpoint(LOCAL, 5, log.proof(5, 9)[:-1], log.note(9), client=http)
    with pytest.raises(WitnessForbidden):
        submit_checkpoint(LOCAL, 5, log.proof(5, 9), Log(signer=_signer()).note(9), client=http)
    stranger = Log(signer=_signer("x.example/log")).note(5, "x.example/log")
    with pytest.raises(WitnessUnknownLog):
        submit_checkpoint(LOCAL, 0, [], stranger, client=http)
    with pytest.raises(WitnessBadRequest):
        submit_checkpoint(LOCAL, 9, [], log.note(5), client=http)


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_client_rejects_off_protocol_answers(log: Log, wkey: WitnessKey) -> None:
    note = log.note(5)
    good = wkey.cosign(_body(note), NOW)
    stranger = generate_witness_key(wkey.name).cosign(_body(note), NOW)
    cases: list[tuple[httpx.Response, type[Exception]]] = [
        (httpx.Response(409, text="5\n"), WitnessUnavailable),  # no text/x.tlog.size
        (
            httpx.Response(409, text="05\n", headers={"content-type": "text/x.tlog.size"}),
            WitnessUnavailable,
        ),
        (httpx.Response(500, text="boom"), WitnessUnavailable),
        (httpx.Response(200, text="not a signature\n"), WitnessUnavailable),
        (httpx.Response(200, text=stranger), WitnessUnavailable),  # same name, other key
    ]
    for response, error in cases:
        with pytest.raises(error):
            submit_checkpoint(
                LOCAL,
                0,
                [],
                note,
                client=_mock(lambda _r, resp=response: resp),
                witness_key=wkey.cosigner_key,
            )
    # Lines from unknown keys are dropped, the witness's own line kept.
    mixed = _mock(lambda _r: httpx.Response(200, text=stranger + good))
    assert submit_checkpoint(LOCAL, 0, [], note, client=mixed, witness_key=wkey.cosigner_key) == [
        good
    ]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(WitnessUnavailable, match="unreachable"):
        submit_checkpoint(LOCAL, 0, [], note, client=_mock(refuse))


def test_client_sends_the_spec_body(log: Log) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(409, text="0\n", headers={"content-type": "text/x.tlog.size"})

    with pytest.raises(WitnessConflict):
        submit_checkpoint(
            "http://localhost:9/prefix", 3, log.proof(3, 5), log.note(5), client=_mock(handler)
        )
    (request,) = seen
    assert (
        request.method == "POST" and str(request.url) == "http://localhost:9/prefix/add-checkpoint"
    )
    assert AddCheckpointRequest.parse(request.content) == AddCheckpointRequest(
        3, tuple(log.proof(3, 5)), log.note(5)
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "http://10.0.0.1:8765",
        "http://[2001:db8::1]/",
        "ftp://127.0.0.1",
        "http://127.0.0.1.example.com",
        "http://localhost.evil.example",
        "not a url",
    ],
)
def test_client_refuses_non_loopback_urls(url: str, log: Log) -> None:
    calls: list[httpx.Request] = []
    client = _mock(lambda r: calls.append(r) or httpx.Response(200))  # type: ignore[func-returns-value]
    with pytest.raises(ValueError):
        submit_checkpoint(url, 0, [], log.note(1), client=client)
    assert not calls


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://localhost", "http://[::1]:9/", "https://127.0.0.2"]
)
def test_loopback_urls_are_accepted(url: str) -> None:
    assert check_loopback_url(url)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_client_against_a_real_server(witness: Witness, log: Log) -> None:
    port = _free_port()
    config = uvicorn.Config(
        create_witness_app(witness), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        lines = submit_checkpoint(url, 0, [], log.note(3), witness_key=witness.cosigner_key)
        ts = verify_cosignature(_body(log.note(3)), lines[0], witness.cosigner_key)
        assert abs(ts - time.time()) < 60
        with pytest.raises(WitnessConflict) as exc:
            submit_checkpoint(url, 0, [], log.note(8))
        submit_checkpoint(url, exc.value.recorded_size, log.proof(3, 8), log.note(8))
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- CLI -----------------------------------------------------------------------------------


def test_cli_keygen_status_and_serve_guard(tmp_path: Path, log: Log) -> None:
    runner = CliRunner()
    result = runner.invoke(witness_app, ["keygen", "witness.example/cli", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    key = load_witness_key(tmp_path / "witness.key")
    assert key.vkey in result.output
    state = tmp_path / "state.json"
    w = Witness.from_files(tmp_path / "witness.key", state, [log.signer.verifier().vkey])
    _add(w, log, 0, 6)
    result = runner.invoke(witness_app, ["status", "--state", str(state)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip())
    assert (line["origin"], line["size"], line["cosigned_at"]) == (ORIGIN, 6, NOW)
    result = runner.invoke(
        witness_app,
        [
            "serve",
            "--key",
            str(tmp_path / "witness.key"),
            "--state",
            str(state),
            "--log-key",
            log.signer.verifier().vkey,
            "--host",
            "0.0.0.0",
        ],
    )
    assert result.exit_code != 0 and "loopback" in result.output


def test_log_keys_must_be_valid() -> None:
    with pytest.raises(WitnessBadRequest, match="bad log key"):
        log_keys_from_vkeys(["nonsense"])
    assert Verifier.from_vkey(_signer().verifier().vkey)
