"""The one door: `decide` alone (against raw Cedar), and justified reveals over HTTP under wrk."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cedarpy

from bench.report import Row
from custodes.access.decide import decide
from custodes.access.facts import Facts, RateLimits
from custodes.access.policy import Policy
from custodes.marketplace.models import CASE_KINDS, EMPLOYEE_ROLES

SERVER = Path(__file__).with_name("access_server.py")


def _contexts(n: int, rng: random.Random) -> list[tuple[str, dict[str, str | bool]]]:
    actions = [
        "customer.view",
        "customer.search",
        "order.view",
        "review.view",
        "review.delete",
        "seller.view",
        "seller.metrics",
        "customer.export",
    ]
    out = []
    for _ in range(n):
        out.append(
            (
                rng.choice(actions),
                {
                    "role": rng.choice(EMPLOYEE_ROLES),
                    "active": rng.random() > 0.02,
                    "justification": rng.choice(
                        [
                            "customer_contact",
                            "order_dispute",
                            "review_report",
                            "investigation",
                            "legal",
                        ]
                    ),
                    "case_open": rng.random() > 0.2,
                    "case_kind": rng.choice([*CASE_KINDS, ""]),
                    "case_covers_customer": rng.random() > 0.3,
                    "case_covers_seller": rng.random() > 0.5,
                    "case_covers_review": rng.random() > 0.5,
                    "contact_fields_only": True,
                    "break_glass_active": rng.random() > 0.98,
                    "independent": False,
                },
            )
        )
    return out


def _decide_rows(quick: bool) -> list[Row]:
    rng = random.Random(5)
    contexts = _contexts(2000, rng)
    policy = Policy.default()
    limits = RateLimits()
    facts = [
        (action, Facts(employee=object(), resource_found=True, context=ctx))  # type: ignore[arg-type]
        for action, ctx in contexts
    ]
    n = 50_000 if quick else 300_000
    samples = []
    start = time.perf_counter()
    for i in range(n):
        action, fact = facts[i % len(facts)]
        t = time.perf_counter_ns()
        decide(policy, action, fact, limits)
        samples.append(time.perf_counter_ns() - t)
    elapsed = time.perf_counter() - start
    samples.sort()
    p99 = samples[int(len(samples) * 0.99)] / 1e3  # µs
    # The peer: the same decisions straight through cedarpy, without the fact-keyed cache.
    policy_set = cedarpy.PolicySet.from_str(policy.text)
    entities = cedarpy.Entities.from_json_str("[]")
    raw_n = 5_000
    t0 = time.perf_counter()
    for i in range(raw_n):
        action, ctx = contexts[i % len(contexts)]
        cedarpy.is_authorized(
            {
                "principal": 'Employee::"subject"',
                "action": f'Action::"{action}"',
                "resource": 'Resource::"object"',
                "context": ctx,
            },
            policy_set,
            entities,
        )
    raw_rate = raw_n / (time.perf_counter() - t0)
    rate = n / elapsed
    return [
        Row(
            "decide() alone, 2,000 distinct fact sets",
            rate,
            "decisions/s",
            f"raw cedarpy ({raw_rate:,.0f}/s)",
            rate / raw_rate,
            ">= 20,000/s",
        ),
        Row("decide() p99 latency", p99, "µs", "", None, "<= 1 ms"),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BARE = Path(__file__).with_name("bare_server.py")


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants: the
    server's work per request, which other load on a shared machine inflates far less than
    its wall-clock rate."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, p in parents.items() if p == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(used.get(member, 0.0) for member in tree)


def _wrk(
    command: list[str], env: dict[str, str], port: int, tmp: Path, quick: bool
) -> dict[str, float]:
    """Start a server that prints its token and (agent, customer, case) triples, then load it
    with wrk -t2 -c32; requests/s, p50 and p99 (ms), non-2xx answers, and the server's CPU
    time per request (µs, every process of it)."""
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        _wait_for_port(port)
        script = tmp / "reveal.lua"
        script.write_text(_lua(ready["token"], ready["pairs"]))
        duration = "5s" if quick else "15s"
        cpu_before = _tree_cpu(server.pid)
        out = subprocess.run(
            [
                "wrk",
                "-t2",
                "-c32",
                f"-d{duration}",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        cpu = _tree_cpu(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
        "cpu_us": cpu / max(total, 1.0) * 1e6,
    }


def _custodes(
    quick: bool, workers: int, source: Path | None = None, mode: str = "header"
) -> dict[str, float]:
    """The seeded custodes server (this checkout, or `source`: an older checkout to compare);
    `mode` is how the employee is proven (`header`: legacy, `jwt`: their OIDC ID token)."""
    tmp = Path(tempfile.mkdtemp(prefix="custodes-http-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "CUSTODES_HOME": str(tmp),
        "CUSTODES_REVEAL_LIMIT_HOUR": "1000000",
        "CUSTODES_REVEAL_LIMIT_DAY": "1000000",
    }
    env.pop("CUSTODES_DATABASE_URL", None)
    server = SERVER
    if source is not None:
        env["PYTHONPATH"] = f"{source / 'src'}:{source}"
        server = source / "bench" / "access_server.py"
    try:
        command = [sys.executable, str(server), str(tmp), str(port), str(workers)]
        if source is None:
            command.append(mode)
        return _wrk(command, env, port, tmp, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bare(quick: bool) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="custodes-bare-bench-"))
    port = _free_port()
    try:
        return _wrk([sys.executable, str(BARE), str(port)], dict(os.environ), port, tmp, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over rounds (one round is one run of every shape, interleaved, so
    load drifting on a shared machine falls on every shape alike)."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _wrk_rows(quick: bool) -> list[Row]:
    """Bare FastAPI, then custodes (one process, two workers), in one run: the ratio is what
    the target is about. With CUSTODES_BENCH_BEFORE=<folder of an older checkout>, that
    checkout is measured in the same run too (before/after); CUSTODES_BENCH_ROUNDS=N repeats
    every shape N times, interleaved, and reports medians."""
    if shutil.which("wrk") is None:
        return [Row("HTTP reveal under wrk", 0, "skipped: wrk not installed")]
    shapes: list[tuple[str, int, Path | None]] = [
        ("1 process", 1, None),
        ("2 workers + sequencer", 2, None),
    ]
    before = os.environ.get("CUSTODES_BENCH_BEFORE")
    if before:
        shapes.insert(0, ("1 process, BEFORE", 1, Path(before)))
    runs: dict[str, list[dict[str, float]]] = {"bare": []}
    for _ in range(max(1, int(os.environ.get("CUSTODES_BENCH_ROUNDS", "1")))):
        runs["bare"].append(_bare(quick))
        for shape, workers, source in shapes:
            runs.setdefault(shape, []).append(_custodes(quick, workers, source))
    bare = _median_run(runs["bare"])
    rows = [
        Row(
            "bare FastAPI endpoint, same body, wrk -t2 -c32",
            bare["rate"],
            "requests/s",
            f"p99 {bare['p99']:.1f} ms, server CPU {bare['cpu_us']:.0f} µs/request",
            None,
            "peer",
        ),
    ]
    for shape, _, _ in shapes:
        ratios = paired_ratios(runs[shape], runs["bare"])
        rows += _shape_rows(shape, _median_run(runs[shape]), bare, ratios)
    from bench.identity_http import jwt_rows  # JWT against header mode, alternating

    return rows + jwt_rows(quick, _median_run(runs["1 process"]))


def paired_ratios(runs: list[dict[str, float]], bare: list[dict[str, float]]) -> list[float]:
    """Each round's rate over the bare endpoint's rate in that same round. The shared VM's
    speed drifts by a quarter or more from minute to minute (bench/README.md, "Stop 14"): only
    runs close in time compare, so the ratio reported is the median of these pairs."""
    return [run["rate"] / peer["rate"] for run, peer in zip(runs, bare, strict=True)]


def ratio_text(ratios: list[float]) -> str:
    if len(ratios) == 1:
        return "bare FastAPI, same round"
    spread = f"{min(ratios):.2f}–{max(ratios):.2f}"
    return f"bare FastAPI, same round: median of {len(ratios)} ({spread})"


def _shape_rows(
    shape: str, got: dict[str, float], bare: dict[str, float], ratios: list[float]
) -> list[Row]:
    return [
        Row(
            f"HTTP reveal, signed before answering, wrk -t2 -c32, {shape}",
            got["rate"],
            "requests/s",
            ratio_text(ratios),
            statistics.median(ratios),
            ">= 0.5x bare",
        ),
        Row(
            f"HTTP reveal latency p99, {shape}",
            got["p99"],
            "ms p99",
            f"p50 {got['p50']:.1f} ms",
            None,
            "p99 <= 50 ms",
        ),
        Row(
            f"server CPU per reveal (all its processes), {shape}",
            got["cpu_us"],
            "µs/request",
            "bare FastAPI's CPU per request",
            got["cpu_us"] / bare["cpu_us"],
            "",
        ),
        Row(f"HTTP reveal non-2xx responses, {shape}", got["errors"], "responses", "", None, "0"),
    ]


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the benchmark server did not listen on port {port}")


def _ms(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group(0))  # type: ignore[union-attr]
    unit = text[len(re.match(r"[\d.]+", text).group(0)) :]  # type: ignore[union-attr]
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def _lua(token: str, pairs: list[list[str]]) -> str:
    """Pairs of (agent, customer, case), or (agent, customer, case, ID token) in JWT mode."""
    jwt = bool(pairs) and len(pairs[0]) > 3
    rows = ",\n".join(
        f'{{"/v1/customers/{p[1]}/reveal", "{p[3] if jwt else p[0]}", "{p[2]}"}}' for p in pairs
    )
    header = "X-Custodes-Employee-Token" if jwt else "X-Custodes-Employee"
    return f"""
local pairs = {{
{rows}
}}
local i = 0
request = function()
  i = i + 1
  local p = pairs[(i % #pairs) + 1]
  local body = '{{"fields":["email"],"justification":' ..
    '{{"code":"customer_contact","case_id":"' .. p[3] .. '"}}}}'
  return wrk.format("POST", p[1], {{
    ["Authorization"] = "Bearer {token}",
    ["{header}"] = p[2],
    ["Content-Type"] = "application/json",
  }}, body)
end
"""


def run(quick: bool = False) -> list[Row]:
    rows = _decide_rows(quick)
    rows += _wrk_rows(quick)
    return rows
