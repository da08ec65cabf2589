"""The JSON depth limit: the byte scan agrees with a parser's nesting depth, and a body nested
too deep is refused (400 problem+json) before any route parses it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from custodes.web.limits import MAX_JSON_DEPTH, _too_deep
from tests.support.api import Api

_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(alphabet='[]{}"\\ab', max_size=6)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_VALUES, st.integers(min_value=0, max_value=8))
def test_scan_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    body = json.dumps(value).encode()
    assert _too_deep(body, limit) == (_depth(value) > limit)


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"a": "[[[[[[[[{{{{{{{{"}).encode()
    assert not _too_deep(body, 1)
    assert _too_deep(json.dumps([[["x"]]]).encode(), 2)


def test_a_body_nested_too_deep_is_refused(api: Api) -> None:
    body = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    headers = {**api.headers("A1", "header"), "Content-Type": "application/json"}
    response = api.client.post("/v1/customers/C1/reveal", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "nested deeper" in response.json()["detail"]
