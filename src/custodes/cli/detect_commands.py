"""CLI commands (thin wrappers): ``custodes detect`` and ``custodes eval detect``.

Mount in ``custodes.cli.main``::

    from custodes.cli.detect_commands import detect_command, eval_app
    app.command("detect")(detect_command)
    app.add_typer(eval_app, name="eval")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from custodes.detect.pipeline import Settings
from custodes.detect.scoring import DEFAULT_THRESHOLD

eval_app = typer.Typer(help="Evaluate detectors on labelled synthetic data.", no_args_is_help=True)


def _pseudonym_key() -> bytes:
    """The vault's pseudonym key (alerts show employees as ``ep_…`` pseudonyms)."""
    from custodes.errors import ConfigError
    from custodes.runtime import Runtime

    try:
        return Runtime.from_env().keyring.pseudonym_key
    except Exception as exc:  # the keyring is missing or unreadable
        raise ConfigError(
            "alerts need the vault's pseudonym key; run `custodes init` first "
            f"({type(exc).__name__})"
        ) from None


# The options of `custodes detect`, named so its signature reads as a list.
OutOption = Annotated[
    str,
    typer.Option(
        "--out",
        help="Alerts, one JSON object per line. With --backend spark, a URI (hdfs://, "
        "s3a://, file://) is written by Spark as a folder of JSON Lines parts.",
    ),
]
DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="A dataset folder (DESIGN.md), or with --backend spark any URI Spark reads "
        "(hdfs://, s3a://); default: the database's imported tables.",
    ),
]
RevealOption = Annotated[
    list[str] | None,
    typer.Option(help="Employee ids an investigator opened a case on (shown unpseudonymised)."),
]
DispositionsOption = Annotated[
    Path | None,
    typer.Option(
        help="Verdicts on earlier alerts (JSON Lines: alert_id, disposition benign|malicious, "
        "note): benign patterns are suppressed for that person, signals re-weighted per role."
    ),
]


def detect_command(
    out: OutOption = "alerts.jsonl",
    data: DataOption = None,
    backend: Annotated[str, typer.Option(help="duckdb (default) or spark.")] = "duckdb",
    spark_master: Annotated[
        str, typer.Option(help="spark.master for --backend spark (e.g. spark://host:7077).")
    ] = "local[*]",
    budget: Annotated[int, typer.Option(min=1, help="At most this many alerts per day.")] = 10,
    threshold: Annotated[float, typer.Option(help="Minimum score to alert.")] = DEFAULT_THRESHOLD,
    dedup_days: Annotated[
        int, typer.Option(min=0, help="Days an incident stays open to the person's later days.")
    ] = 7,
    reveal: RevealOption = None,
    dispositions: DispositionsOption = None,
) -> None:
    """Score every employee-day and write alerts with their evidence (no PII)."""
    from rich.console import Console

    from custodes.cli.dataset_commands import progress_bar
    from custodes.detect.engine import BACKENDS
    from custodes.detect.errors import DetectInputError
    from custodes.detect.feedback import read_dispositions
    from custodes.detect.pipeline import run, to_json_lines, write_jsonl

    if backend not in BACKENDS:
        raise DetectInputError(
            f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}"
        )
    is_uri = "://" in out
    if is_uri and backend != "spark":
        raise DetectInputError(f"--out {out}: a URI needs --backend spark (or give a local file)")
    verdicts = tuple(read_dispositions(dispositions)) if dispositions is not None else ()
    key = _pseudonym_key()
    settings = Settings(
        threshold=threshold,
        budget=budget,
        dedup_days=dedup_days,
        dispositions=verdicts,
        pseudonym_key=key,
        disclosed=tuple(reveal or ()),
    )
    with progress_bar(Console(stderr=True)) as bar:
        task = bar.add_task("reading inputs", total=3)
        session, engine, inputs = _open_inputs(backend, spark_master, data)
        bar.update(task, advance=1, description="scoring employee-days")
        try:
            result = run(inputs, engine, settings)
        finally:
            engine.close()
        bar.update(task, advance=1, description="writing alerts")
        if is_uri:
            from custodes.detect.spark_inputs import write_lines_spark

            lines = to_json_lines(result, key, tuple(reveal or ()))
            n = write_lines_spark(session, lines, out)
        else:
            n = write_jsonl(result, Path(out), key, tuple(reveal or ()))
        bar.update(task, advance=1)
    _summary(n, out, result.stats, bool(verdicts))


def _open_inputs(backend: str, spark_master: str, data: str | None) -> tuple[Any, Any, Any]:
    """The Spark session (or None), the engine, and the inputs: a folder or URI, or the
    database's imported tables."""
    from custodes.detect.engine import connect, spark_session
    from custodes.detect.errors import DetectInputError
    from custodes.detect.inputs import load_database, load_folder
    from custodes.runtime import Runtime

    if backend == "spark":
        from custodes.detect.spark_inputs import load_folder_spark

        session = spark_session(spark_master)
        engine = connect("spark", spark=session)
        if data is not None:
            return session, engine, load_folder_spark(session, data)
        return session, engine, load_database(Runtime.from_env().migrated_engine())
    if data is not None and "://" in data:
        raise DetectInputError(f"--data {data}: a URI needs --backend spark")
    inputs = (
        load_folder(Path(data))
        if data is not None
        else load_database(Runtime.from_env().migrated_engine())
    )
    return None, connect("duckdb"), inputs


def _summary(n: int, out: str, s: dict[str, Any], feedback: bool) -> None:
    typer.echo(
        f"{n} alerts -> {out}; {s['employee_days']} employee-days; reads explained "
        f"{s['explained_share']:.1%} (first reads {s['first_explained_share']:.1%})"
    )
    if feedback:
        typer.echo(
            f"feedback: {s['dispositions_matched']} verdict(s) matched, "
            f"{s['dispositions_unmatched']} not in this run's window; "
            f"{s['suppressed_by_feedback']} day(s) suppressed as benign patterns, "
            f"{s['below_threshold_after_feedback']} below the threshold after re-weighting"
        )


@eval_app.command("detect")
def eval_detect(
    seeds: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated seeds (default: the held-out 5001-5005, or 1001-1005 with "
            "--fixed; never the training seeds 101-103)."
        ),
    ] = None,
    fixed: Annotated[
        bool,
        typer.Option(
            help="Use the simulator's fixed worlds instead of held-out, domain-randomised ones."
        ),
    ] = False,
    customers: Annotated[int, typer.Option(min=100)] = 60_000,
    employees: Annotated[int, typer.Option(min=40)] = 400,
    days: Annotated[int, typer.Option(min=14)] = 30,
    budget: Annotated[int, typer.Option(min=1)] = 10,
    threshold: Annotated[float, typer.Option()] = DEFAULT_THRESHOLD,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Recall (overall, per scenario), precision, alerts per 1,000 employee-days, median TTD."""
    from custodes.errors import InputError
    from custodes.evaluation.detection import EVAL_SEEDS, HELD_OUT_SEEDS, evaluate, summary
    from custodes.sim.config import SimConfig

    try:
        chosen = tuple(int(s) for s in (seeds or "").split(",") if s.strip())
    except ValueError:
        raise InputError(f"--seeds {seeds!r}: expected comma-separated integers") from None
    chosen = chosen or (EVAL_SEEDS if fixed else HELD_OUT_SEEDS)
    reports = evaluate(
        chosen,
        SimConfig(customers=customers, employees=employees, days=days),
        settings=Settings(threshold=threshold, budget=budget),
        randomised=not fixed,
    )
    _print_summary(summary(reports), as_json)


def _print_summary(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    typer.echo(
        f"seeds {result['seeds']}: {result['insiders']} insiders, "
        f"{result['employee_days']} employee-days"
    )
    typer.echo(f"recall            {result['recall']:.1%}   (found, median / max TTD)")
    ttd: dict[str, float] = result.get("median_ttd_hours_per_scenario", {})
    worst: dict[str, float] = result.get("max_ttd_hours_per_scenario", {})
    for scenario, hits in result["recall_per_scenario"].items():
        typer.echo(
            f"  {scenario:<22}{hits:<7}{ttd.get(scenario, '-')} / {worst.get(scenario, '-')} h"
        )
    typer.echo(f"alerts            {result['alerts']} (precision {result['precision']:.1%})")
    typer.echo(f"alerts/1k emp-days {result['alerts_per_1000_employee_days']}")
    typer.echo(f"median TTD        {result['median_time_to_detect_hours']} h")
    typer.echo(f"false alerts      {result['false_alerts_by_kind']}")
    typer.echo("confounders alerted (people)")
    for kind, hits in result.get("confounders_alerted", {}).items():
        typer.echo(f"  {kind:<22}{hits}")
    seeds: list[dict[str, object]] = result.get("per_seed", [])
    if len(seeds) > 1:
        typer.echo("per seed          recall  precision  alerts/1k  median TTD")
        for s in seeds:
            typer.echo(
                f"  {s['seed']:<16}{s['recall']:<8.1%}{s['precision']:<11.1%}"
                f"{s['alerts_per_1000_employee_days']:<11}{s['median_ttd_hours']} h"
            )
        for name, spread in result["spread"].items():
            typer.echo(
                f"spread {name}: min {spread['min']} median {spread['median']} max {spread['max']}"
            )
    if "explained_share" in result:
        typer.echo(
            f"explained share   {result['explained_share']:.1%} "
            f"(first reads {result['first_explained_share']:.1%})"
        )


@eval_app.command("score")
def eval_score(
    labels: Annotated[Path, typer.Argument(help="Labels written by `custodes sim --insiders`.")],
    alerts: Annotated[Path, typer.Argument(help="Alerts written by `custodes detect`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Score your own alerts against labels: recall, precision, alerts per 1,000 employee-days."""
    from custodes.errors import InputError
    from custodes.evaluation.detection import read_alert_times, score_alerts, summary
    from custodes.vault.pseudonym import employee_pseudonym

    try:
        doc = json.loads(labels.read_text(encoding="utf-8"))
        doc["labels"], doc["employee_days"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{labels}: not a labels file ({type(exc).__name__})") from None
    key = _pseudonym_key()
    fired = read_alert_times(alerts)
    report = score_alerts(
        int(doc.get("seed", 0)), fired, doc, lambda eid: employee_pseudonym(key, eid)
    )
    result = summary([report])
    for name in ("explained_share", "first_explained_share"):  # a property of a run, not here
        result.pop(name)
    _print_summary(result, as_json)
