"""Request ids are drawn from a pool of OS randomness: they must never repeat, in one process,
across threads, or in a worker forked after the pool was filled."""

from __future__ import annotations

import os
import threading

from custodes.web.access_log import _fresh_id


def test_ids_do_not_repeat_across_threads() -> None:
    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(_fresh_id() for _ in range(3000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for into in drawn for i in into]
    assert len(set(every)) == len(every) == 12000
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in every)


def test_a_forked_worker_does_not_reuse_the_parents_pool() -> None:
    _fresh_id()  # the pool is filled now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, "".join(_fresh_id() for _ in range(20)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    in_child = {text[i : i + 16] for i in range(0, len(text), 16)}
    in_parent = {_fresh_id() for _ in range(20)}
    assert len(in_child) == 20
    assert not in_child & in_parent
