"""The documentation: generated pages match the code, the site builds strictly, the API guide
covers every flow the issue names."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_dataset_format", DOCS / "gen_dataset_format.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dataset_format_page_is_what_the_generator_writes() -> None:
    page = (DOCS / "dataset-format.md").read_text(encoding="utf-8")
    assert page == _generator().render(), "run `make docs` and commit docs/dataset-format.md"


def test_dataset_format_lists_every_file_column_and_allowed_value() -> None:
    from custodes.dataset.schema import ACCESS_KEYS, CSV_COLUMNS, SIGNAL_KEYS
    from custodes.marketplace.models import ACCESS_ACTIONS, CASE_KINDS, EMPLOYEE_ROLES

    page = (DOCS / "dataset-format.md").read_text(encoding="utf-8")
    for name, columns in CSV_COLUMNS.items():
        section = page.split(f"## {name}", 1)[1].split("\n## ", 1)[0]
        for column in columns:
            assert f"| `{column}` |" in section, (name, column)
    for key in (*ACCESS_KEYS, *SIGNAL_KEYS):
        assert f"| `{key}` |" in page
    for value in (*EMPLOYEE_ROLES, *CASE_KINDS, *ACCESS_ACTIONS):
        assert f"`{value}`" in page


def test_a_column_declared_in_the_schema_is_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page is rendered from the declaration itself: no second list to forget to update."""
    import dataclasses

    from custodes.dataset.schema import ORDERS, Column, Type

    gen = _generator()
    coupon = Column("coupon_code", Type.TEXT, rule="the coupon used")
    orders = dataclasses.replace(ORDERS, columns=(*ORDERS.columns, coupon))
    files = tuple(orders if f.name == "orders.csv" else f for f in gen.CSV_FILES)
    monkeypatch.setattr(gen, "CSV_FILES", files)
    section = gen.render().split("## orders.csv", 1)[1].split("\n## ", 1)[0]
    assert "| `coupon_code` | text | no | the coupon used |" in section


def test_http_guide_covers_each_flow_with_curl() -> None:
    guide = (DOCS / "http-api.md").read_text(encoding="utf-8")
    for path in (
        "/v1/customers/C000001/reveal",
        "/v1/customers/search",
        "/v1/requests",
        "/approve",
        "/execute",
        "/v1/break-glass",
        "/v1/decisions?",
        "/v1/cases",
    ):
        assert path in guide, path
    assert guide.count("curl ") >= 10


def test_http_guide_paths_exist_in_the_api(tmp_path: Path) -> None:
    """Every `$API/…` path in the guide is a route of the app (so the guide cannot rot)."""
    import re

    from starlette.routing import compile_path

    from custodes.store.engine import make_engine
    from custodes.web.app import create_app

    paths = create_app(make_engine(f"sqlite:///{tmp_path / 'x.db'}")).openapi()["paths"]
    patterns = [compile_path(p)[0] for p in paths]
    guide = (DOCS / "http-api.md").read_text(encoding="utf-8")
    used = {m.split("?")[0] for m in re.findall(r"\$API(/[^\"' ]+)", guide)}
    assert used
    for path in used:
        concrete = path.replace("rq_…", "rq_x")
        assert any(p.fullmatch(concrete) for p in patterns), path


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.glob("*.md"):
        assert page.name in nav, page.name


@pytest.mark.skipif(
    shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
    reason="mkdocs is not installed (pip install -e '.[docs]')",
)
def test_site_builds_strictly(tmp_path: Path) -> None:
    mkdocs = str(Path(sys.executable).parent / "mkdocs")
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "site" / "dataset-format" / "index.html").is_file()
