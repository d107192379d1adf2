"""Small law tables in format 2 (and format 1), for tests of the loader and of the rules that read
it, independent of the shipped data's rows."""

from __future__ import annotations

import copy
from typing import Any

from node.records.laws import Statutes

SOURCES: dict[str, Any] = {
    "sources": {
        "test-gazette": {
            "title": "An enacted text",
            "url": "https://example.in/",
            "kind": "official",
        },
        "test-team": {"title": "Working knowledge", "url": None, "kind": "unverified"},
    }
}

ACTS: list[dict[str, Any]] = [
    {"code": "BNS", "name": "Bharatiya Nyaya Sanhita", "year": 2023, "kind": "penal code",
     "in_force_from": "2024-07-01", "in_force_until": None},
    {"code": "IPC", "name": "Indian Penal Code", "year": 1860, "kind": "penal code",
     "in_force_from": "1862-01-01", "in_force_until": "2024-06-30"},
    {"code": "KPA", "name": "Kerala Police Act", "year": 2011, "kind": "local law",
     "in_force_from": "2011-04-01", "in_force_until": None},
    {"code": "BNSS", "name": "Bharatiya Nagarik Suraksha Sanhita", "year": 2023,
     "kind": "procedure", "in_force_from": "2024-07-01", "in_force_until": None},
]  # fmt: skip


def row(section: str, kind: str = "offence", **fields: Any) -> dict[str, Any]:
    """A format 2 row: an offence punishable with one year, non-cognizable, unless told."""
    offence = kind == "offence"
    base: dict[str, Any] = {
        "section": section,
        "title": f"Section {section}",
        "kind": kind,
        "max_punishment_years": 1 if offence else None,
        "life": False,
        "death": False,
        "cognizable": False if offence else None,
        "bailable": True if offence else None,
        "triable_by": "Any Magistrate" if offence else None,
        "crime_head": "Hurt" if kind != "general" else None,
        "identity_withheld": False,
        "source": ["test-gazette"],
        "checked": True,
    }
    base.update(fields)
    return base


BNS_ROWS: list[dict[str, Any]] = [
    row("2(8)", "general", title="Definitions: injury"),
    row("3(5)", "accessory", title="Common intention"),
    row("49", "accessory", title="Abetment"),
    row("103(1)", max_punishment_years=None, life=True, death=True, cognizable=True,
        bailable=False, crime_head="Murder", triable_by="Court of Session"),
    row("106(1)", max_punishment_years=5, cognizable=True, crime_head="Death due to negligence"),
    row("106(2)", max_punishment_years=10, cognizable=True, bailable=False,
        crime_head="Death due to negligence",
        not_in_force="left out of the commencement notification S.O. 850(E) of 23 Feb 2024"),
    row("115(2)", title="Voluntarily causing hurt"),
    row("303(2)", max_punishment_years=5, cognizable=True, crime_head="Theft"),
    row("316(2)", max_punishment_years=5, cognizable=True, bailable=False,
        crime_head="Criminal breach of trust"),
    row("318(4)", max_punishment_years=7, cognizable=True, bailable=False, crime_head="Cheating"),
]  # fmt: skip
IPC_ROWS: list[dict[str, Any]] = [
    row("34", "accessory", title="Common intention"),
    row("323", title="Voluntarily causing hurt"),
    row("379", max_punishment_years=3, cognizable=True, crime_head="Theft"),
    row("497", max_punishment_years=5, crime_head="Other IPC crimes", in_force_until="2018-09-27"),
    row("498A", max_punishment_years=3, cognizable=True, bailable=False,
        crime_head="Cruelty by husband or relatives", in_force_from="1983-12-25"),
]  # fmt: skip
SLL: dict[str, list[dict[str, Any]]] = {
    "KPA": [
        row("57", "non-crime", title="Missing person", crime_head="Missing persons"),
        row("118(a)", max_punishment_years=3, cognizable=True, crime_head="Kerala Police Act"),
    ],
    "BNSS": [row("194", "non-crime", title="Unnatural death", crime_head="Unnatural deaths")],
}
MAP: list[dict[str, Any]] = [
    {"ipc": "34", "bns": ["3(5)"]},
    {"ipc": "323", "bns": ["115(2)"], "class_differs": False, "note": "", "source": ["test-team"]},
    {"ipc": "379", "bns": ["303(2)"], "class_differs": True, "note": "BNS adds community service",
     "source": ["test-gazette"]},
]  # fmt: skip


def tables(**overrides: Any) -> dict[str, Any]:
    """The package data's files as `Statutes(data)` takes them; `overrides` replace files
    ("bns.json": {...}) whole."""
    files: dict[str, Any] = {
        "acts.json": {"format": 2, "acts": copy.deepcopy(ACTS)},
        "bns.json": {"format": 2, "act": "BNS", "sections": copy.deepcopy(BNS_ROWS)},
        "ipc.json": {"format": 2, "act": "IPC", "sections": copy.deepcopy(IPC_ROWS)},
        "sll.json": {"format": 2, "acts": copy.deepcopy(SLL)},
        "ipc_bns.json": {"format": 2, "map": copy.deepcopy(MAP)},
        "sources/test.json": copy.deepcopy(SOURCES),
    }
    files.update(overrides)
    return files


def statutes(**overrides: Any) -> Statutes:
    """A `Statutes` over these tables."""
    return Statutes(tables(**overrides))
