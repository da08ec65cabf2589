"""`custodes serve` and `custodes sequencer`: the HTTP API (one process, or N workers with a
sequencer process holding the log), with what it prints when it starts in `serving`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from custodes.runtime import Runtime


def serve(
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API worker processes; above 1, a sequencer process too.")
    ] = 1,
) -> None:
    """Run the HTTP API (uvicorn) on the configured database.

    Prints where it listens, the home, database, ledger size and policy; then logs JSON lines
    (access log and application logs) on stderr at CUSTODES_LOG_LEVEL.
    """
    import uvicorn

    from custodes.cli.serving import banner, check_listen
    from custodes.web.app import create_app
    from custodes.web.logs import configure_logging

    rt = Runtime.from_env()
    engine = rt.migrated_engine()
    check_listen(host, port)
    services = rt.services()
    sha256 = services.policy.sha256 if services.policy is not None else "-"
    run_options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # our JSON-lines handler, not uvicorn's text format
        "access_log": False,  # replaced by custodes.web.access_log (route templates only)
        "log_level": rt.settings.log_level,
    }
    for line in banner(rt, engine, sha256, host, port, workers):
        typer.echo(line)
    configure_logging(rt.settings.log_level)
    if workers == 1:
        uvicorn.run(create_app(engine, services), **run_options)
        return
    from custodes.web.metrics import prepare_multiprocess
    from custodes.web.worker import sequencer_socket

    # Before any worker starts: their counters live in files the /metrics answer sums.
    prepare_multiprocess(rt.settings.home / "run" / "metrics")
    sequencer = start_sequencer(sequencer_socket(rt.settings.home))
    try:
        uvicorn.run(
            "custodes.cli.serving:create_logged_worker_app",
            factory=True,
            workers=workers,
            **run_options,
        )
    finally:
        sequencer.terminate()
        sequencer.wait(timeout=30)


def start_sequencer(path: Path) -> Any:
    """Start `custodes sequencer` and wait until its socket answers."""
    import socket
    import subprocess
    import time

    from custodes.errors import ConfigError

    process = subprocess.Popen([sys.executable, "-m", "custodes.cli.main", "sequencer"])
    # Generous: a live process that has not listened yet is only slow (a loaded machine, a
    # large log to check at open); one that died is reported at once below.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError("the sequencer process exited; is another one running?")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise ConfigError(f"the sequencer did not listen on {path}")


def sequencer() -> None:
    """Hold the log and serve appends to local API workers over a Unix socket."""
    import signal

    from custodes.ledger.remote import SequencerServer
    from custodes.ledger.sequencer import GroupCommitter
    from custodes.ledger.witnessing import WitnessLoop
    from custodes.web.worker import sequencer_socket

    rt = Runtime.from_env()
    services = rt.services()
    with rt.sequencer() as seq:
        committer = GroupCommitter(seq)
        server = SequencerServer(committer, sequencer_socket(rt.settings.home))
        witnessing = WitnessLoop(seq.engine, services.witnesses).start()
        signal.signal(signal.SIGTERM, lambda *_: server.stop())
        try:
            server.serve_forever()
        finally:
            witnessing.stop()
            committer.close()
