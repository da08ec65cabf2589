"""`make bench` / `python -m bench [--quick]`: every benchmark in one process, one table."""

from __future__ import annotations

import argparse

from bench import (
    access_bench,
    detect_bench,
    forensics_bench,
    identity_bench,
    ledger_bench,
    relay_bench,
    vault_bench,
    web_bench,
)
from bench.report import print_rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    groups = ["vault", "ledger", "access", "detect", "identity", "forensics", "relay", "web"]
    parser.add_argument("--only", choices=groups, help="run one group")
    args = parser.parse_args()
    rows = []
    if args.only in (None, "vault"):
        rows += vault_bench.run(args.quick)
    if args.only in (None, "ledger"):
        rows += ledger_bench.run(args.quick)
    if args.only in (None, "access"):
        rows += access_bench.run(args.quick)
    if args.only in (None, "detect"):
        rows += detect_bench.run(args.quick)
    if args.only in (None, "identity"):
        rows += identity_bench.run(args.quick)
    if args.only in (None, "forensics"):
        rows += forensics_bench.run(args.quick)
    if args.only in (None, "relay"):
        rows += relay_bench.run(args.quick)
    if args.only in (None, "web"):
        rows += web_bench.run(args.quick)
    print_rows(rows)


if __name__ == "__main__":
    main()
