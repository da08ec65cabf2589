"""Leaked lists are read as found: case, whitespace, duplicates, damage, folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custodes.errors import InputError
from custodes.forensics.leaks import parse_leak, read_leaks


def test_case_whitespace_duplicates_and_damage() -> None:
    text = " Ann@Example.COM \n\nann@example.com\n<bob@example.org>\nnot an address\nbob at x\n"
    leak = parse_leak("l", text)
    assert leak.addresses == ("ann@example.com", "bob@example.org")
    assert leak.unreadable == 2
    assert leak.lines == 5


def test_folder_of_txt_files_and_bom(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes("\ufeffx@example.com\n".encode())
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe broken\ny@example.com\n")
    (tmp_path / "notes.md").write_text("z@example.com\n")
    leaks = read_leaks([tmp_path])
    assert [(leak.name, leak.addresses) for leak in leaks] == [
        ("a", ("x@example.com",)),
        ("b", ("y@example.com",)),
    ]
    assert leaks[1].unreadable == 1


def test_refusals_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no such leak"):
        read_leaks([tmp_path / "missing.txt"])
    with pytest.raises(InputError, match=r"no \*\.txt"):
        read_leaks([tmp_path])
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "l.txt").write_text("a@b.example\n")
    (tmp_path / "l.txt").write_text("a@b.example\n")
    with pytest.raises(InputError, match="same name"):
        read_leaks([tmp_path / "one", tmp_path / "l.txt"])


@given(st.text())
def test_any_text_parses(text: str) -> None:
    leak = parse_leak("x", text)
    assert len(leak.addresses) + leak.unreadable <= leak.lines
    assert len(set(leak.addresses)) == len(leak.addresses)
