"""From a leaked list to findings: canaries first (decisive), then the likelihood model.

Findings name employees by pseudonym unless revealed, customers by pseudonym or opaque id, and
cite their evidence as ledger indices or `access.jsonl:LINE`; never an address.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from custodes.forensics.leaks import Leak
from custodes.forensics.model import Ranking, Suspect, rank
from custodes.forensics.source import CanaryExposure, LeakSource, SignalRef

EVIDENCE_PER_SUSPECT = 20


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Attribution:
    leak: str
    matched: list[str]  # real customers
    unknown: int
    unreadable: int
    canaries: dict[str, CanaryExposure]
    ranking: Ranking
    signals: list[SignalRef]

    def ranked_employees(self) -> list[str]:
        """Employees best first: canary holders, then the model's order (no duplicates)."""
        out: list[str] = []
        for exposure in sorted(self.canaries.values(), key=lambda x: (x.time, x.exposure_id)):
            if exposure.employee_id not in out:
                out.append(exposure.employee_id)
        for suspect in self.ranking.suspects:
            if suspect.employee_id not in out:
                out.append(suspect.employee_id)
        return out


def attribute(leak: Leak, source: LeakSource) -> Attribution:
    resolved = source.resolve(leak.addresses)
    customers = sorted(set(resolved.values()))
    canaries = source.canaries(customers)
    real = [c for c in customers if c not in canaries]
    return Attribution(
        leak=leak.name,
        matched=real,
        unknown=len(leak.addresses) - len(resolved),
        unreadable=leak.unreadable,
        canaries=canaries,
        ranking=rank(real, source.reads),
        signals=source.signals(customers),
    )


def _explain(s: Suspect, matched: int) -> str:
    pct = 100 * s.covered / matched if matched else 0
    parts = [
        f"read the e-mail of {s.covered} of {matched} leaked customers ({pct:.0f}%)",
        f"{s.rare} of them read by at most two people",
        f"{s.reads} customers' e-mails read in all",
    ]
    if s.window is not None:
        parts.append(
            f"{s.window.covered} of them in one batch {_iso(s.window.first)} to "
            f"{_iso(s.window.last)} ({s.window.reads} e-mails read in that batch)"
        )
    if s.role == "second_source":
        parts.append("explains the part of the list the first suspect does not")
    return "; ".join(parts)


def _evidence(
    s: Suspect, display: dict[str, str], proof: Callable[[int], str | None]
) -> list[dict[str, Any]]:
    chronological = sorted(s.covered_ids, key=lambda c: (s.reads_of[c].first_time, c))
    out = []
    for customer_id in chronological[:EVIDENCE_PER_SUSPECT]:
        read = s.reads_of[customer_id]
        item: dict[str, Any] = {
            "customer": display.get(customer_id, customer_id),
            "first_read": _iso(read.first_time),
            "reads": read.reads,
        }
        kind, _, where = read.ref.partition(":")
        if kind == "ledger":
            item["ledger_index"] = int(where)
            path = proof(int(where))
            if path:
                item["proof"] = path
        else:
            item["source"] = read.ref
        out.append(item)
    return out


def findings(
    result: Attribution,
    source: LeakSource,
    show: Callable[[str], str],
    proof: Callable[[int], str | None] = lambda _: None,
) -> dict[str, Any]:
    """The JSON document for one leak (see the module docstring for what it may contain)."""
    wanted = {c for s in result.ranking.suspects for c in s.covered_ids[:EVIDENCE_PER_SUSPECT]}
    display = source.display(sorted(wanted | set(result.canaries)))
    suspects, named = _canary_suspects(result, show, proof)
    for s in result.ranking.suspects:
        entry = _model_suspect(result, s, bool(named), display, show, proof)
        if s.employee_id in named:  # the canary holder: add the model's view to their entry
            target = next(x for x in suspects if x["employee_id"] == show(s.employee_id))
            target["covered"] += s.covered
            target["explanation"] += "; also " + entry["explanation"]
            target["evidence"] += entry["evidence"]
            continue
        suspects.append(entry)
    null = result.ranking.null_loglik
    return {
        "leak": result.leak,
        "suspects": suspects,
        "matched": len(result.matched),
        "unknown": result.unknown,
        "unreadable": result.unreadable,
        "canaries": len(result.canaries),
        "signals": _signals(result.signals),
        "model": {"null_log_likelihood": round(null, 2) if math.isfinite(null) else None},
    }


def _canary_suspects(
    result: Attribution, show: Callable[[str], str], proof: Callable[[int], str | None]
) -> tuple[list[dict[str, Any]], set[str]]:
    """One decisive entry per employee whose exposures' canaries are in the leak."""
    by_employee: dict[str, list[CanaryExposure]] = {}
    for exposure in result.canaries.values():
        by_employee.setdefault(exposure.employee_id, []).append(exposure)
    suspects = []
    for employee_id, exposures in sorted(by_employee.items(), key=lambda kv: kv[0]):
        evidence = []
        for exposure in sorted(
            {e.exposure_id: e for e in exposures}.values(), key=lambda e: e.time
        ):
            count = sum(1 for e in exposures if e.exposure_id == exposure.exposure_id)
            item: dict[str, Any] = {
                "exposure": exposure.exposure_id,
                "kind": exposure.kind,
                "time": _iso(exposure.time),
                "canaries": count,
            }
            if exposure.ledger_index is not None:
                item["ledger_index"] = exposure.ledger_index
                path = proof(exposure.ledger_index)
                if path:
                    item["proof"] = path
            evidence.append(item)
        suspects.append(
            {
                "employee_id": show(employee_id),
                "score": 1.0,
                "covered": len(exposures),
                "role": "canary",
                "explanation": f"{len(exposures)} canary customer(s) in the list were shown only "
                "in this employee's exposure(s): decisive",
                "evidence": evidence,
            }
        )
    return suspects, set(by_employee)


def _model_suspect(
    result: Attribution,
    s: Suspect,
    canaries_named: bool,
    display: dict[str, str],
    show: Callable[[str], str],
    proof: Callable[[int], str | None],
) -> dict[str, Any]:
    tied = sum(
        1
        for other in result.ranking.suspects
        if other is not s and abs(other.loglik - s.loglik) < 1e-6
    )
    ties = f"; indistinguishable from {tied} other suspect(s) who read the same" if tied else ""
    return {
        "employee_id": show(s.employee_id),
        "score": round(s.score, 6),
        "covered": s.covered,
        "role": s.role if not canaries_named else "alternative",
        "explanation": _explain(s, result.ranking.matched) + ties,
        "evidence": _evidence(s, display, proof),
        "log_likelihood_ratio": round(s.loglik - result.ranking.null_loglik, 2),
        "weighted_coverage": round(s.weighted_coverage, 4),
    }


def _signals(found: list[SignalRef]) -> list[dict[str, Any]]:
    signals: dict[tuple[str, str | None], list[SignalRef]] = {}
    for sig in found:
        signals.setdefault((sig.kind, sig.seller_id), []).append(sig)
    return [
        {
            "kind": kind,
            "seller_id": seller,
            "customers": len({s.customer_id for s in refs}),
            "evidence": sorted({s.ref for s in refs})[:EVIDENCE_PER_SUSPECT],
        }
        for (kind, seller), refs in sorted(
            signals.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
        )
    ]


def write_findings(out_dir: Path, name: str, document: dict[str, Any]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
