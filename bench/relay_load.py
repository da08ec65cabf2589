"""Load generator for the relay bench, in its own process so it does not share the relay's
interpreter: a counting smarthost and N seller messages sent over several SMTP connections.

Protocol on stdin/stdout: prints `ready`; reads `go`; sends; prints `sent SECONDS`; reads the
number of messages the relay forwarded; prints `delivered SECONDS` once the smarthost has
them all (seconds since `go`). Sellers log in (SMTP AUTH): each client keeps one connection per
seller it writes for. argv: smarthost port, relay port, messages, clients, "alias seller"
pairs, "seller secret" credentials (empty for the bare peer, which takes no login).
"""

from __future__ import annotations

import random
import smtplib
import sys
import threading
import time

from aiosmtpd.controller import Controller

from bench.relay_bench import message


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.done = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.done:
            self.n += 1
            self.done.notify_all()
        return "250 OK"


def main() -> None:
    smart_port, relay_port, total, clients = (int(a) for a in sys.argv[1:5])
    pairs = [line.split() for line in sys.argv[5].split(",")]
    secrets = dict(line.split() for line in sys.argv[6].split(",") if line)
    counter = Counter()
    smarthost = Controller(counter, hostname="127.0.0.1", port=smart_port)
    smarthost.start()
    rng = random.Random(5)
    bodies = [message(rng, n) for n in range(total)]
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()

    sellers = sorted({seller for _, seller in pairs})

    def client(k: int) -> None:
        """Client k writes for every CLIENTS-th seller, one logged-in session per seller (as a
        seller's mail client would), interleaving their messages."""
        mine = set(sellers[k::clients])
        sessions: dict[str, smtplib.SMTP] = {}
        for n in range(total):
            alias, seller = pairs[n % len(pairs)]
            if seller not in mine:
                continue
            smtp = sessions.get(seller)
            if smtp is None:
                smtp = sessions[seller] = smtplib.SMTP("127.0.0.1", relay_port, timeout=60)
                if secrets:
                    smtp.login(seller, secrets[seller])
            smtp.sendmail(
                f"shop{int(seller[1:])}@seller.example", [f"{alias}@relay.bench"], bodies[n]
            )
        for smtp in sessions.values():
            smtp.quit()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"sent {time.perf_counter() - start}", flush=True)
    expected = int(sys.stdin.readline())
    with counter.done:
        counter.done.wait_for(lambda: counter.n >= expected, timeout=300)
    print(f"delivered {time.perf_counter() - start} {counter.n}", flush=True)
    smarthost.stop()


if __name__ == "__main__":
    main()
