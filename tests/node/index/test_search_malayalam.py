"""Person search across scripts: Malayalam-script queries find records written in Latin
letters, and Latin queries find records written in Malayalam (issue 13), among the recall
set's other persons (real SQLite index)."""

from __future__ import annotations

from node.index.record_index import RecordIndex
from tests.node.index.support import fir, person, recall_log

# (record as written, relative as written, queries that must find it in the top 5)
LATIN_RECORDS: list[tuple[str, str, list[str]]] = [
    ("Ajith Kumar P.", "Gopalan", ["അജിത്ത് കുമാർ", "അജിത് S/o ഗോപാലൻ", "അജിത്കുമാർ"]),
    ("Fathima Beevi", "Abdul Rasheed", ["ഫാത്തിമ ബീവി", "ഫാത്തിമ D/o അബ്ദുൾ റഷീദ്"]),
    ("Unnikrishnan K", "Narayanan", ["ഉണ്ണികൃഷ്ണൻ", "ഉണ്ണികൃഷ്ണൻ S/o നാരായണൻ"]),
    ("Ranjith R", "Raghavan", ["രഞ്ജിത്ത്", "രഞ്ജിത് S/o രാഘവൻ"]),
    ("Kunjumuhammed", "Moideen", ["കുഞ്ഞുമുഹമ്മദ്", "കുഞ്ഞുമുഹമ്മദ് S/o മൊയ്തീൻ"]),
    ("Noushad", "Kunhalavi", ["നൗഷാദ്"]),
    ("Sreekumar", "Vasudevan", ["ശ്രീകുമാർ", "ശ്രീ കുമാർ S/o വാസുദേവൻ"]),
    ("Sasidharan Pillai", "Kesavan", ["ശശിധരൻ"]),
    ("Mariamma Varghese", "Chacko", ["മറിയാമ്മ", "മറിയാമ്മ D/o ചാക്കോ"]),
]
# Records written in Malayalam script, and Latin queries as officers type them.
MALAYALAM_RECORDS: list[tuple[str, str, list[str]]] = [
    ("സന്തോഷ് കെ.", "കൃഷ്ണൻ", ["Santhosh", "Santosh K", "Santhosh S/o Krishnan"]),
    ("ലക്ഷ്മി", "രാജൻ", ["Lakshmi", "Lekshmi D/o Rajan", "Laxmi"]),
    ("മുഹമ്മദ് ഷാഫി", "ബഷീർ", ["Muhammed Shafi", "Mohd Shafi S/o Basheer", "Muhammedshafi"]),
    ("അശ്വതി", "മോഹനൻ", ["Aswathy", "Ashwathi D/o Mohanan"]),
    ("ജോസഫ് തോമസ്", "തോമസ്", ["Joseph Thomas", "Josef S/o Thomas"]),
    ("പ്രവീൺ", "സുരേന്ദ്രൻ", ["Praveen", "Pravin S/o Surendran"]),
    ("അഴകേശൻ", "വേലായുധൻ", ["Azhakesan", "Alakesan S/o Velayudhan"]),
]


def _index(index: RecordIndex) -> dict[str, str]:
    log, ids = recall_log()
    rows = LATIN_RECORDS + MALAYALAM_RECORDS
    for n, start in enumerate(range(0, len(rows), 4), 1000):
        people = []
        for i, (name, relative, _) in enumerate(rows[start : start + 4], start):
            pid = f"ML-{i}"
            people.append(person(pid, name, relative=relative, relation="S/o", age=40))
            ids[name] = pid
        log.add(fir=fir(n, people=people))
    index.apply(log.entries)
    return ids


def test_malayalam_queries_find_latin_records(index: RecordIndex) -> None:
    ids = _index(index)
    for name, _, queries in LATIN_RECORDS:
        for query in queries:
            found = [h.person_id for h in index.search.persons(query, limit=5)]
            assert ids[name] in found, (query, name)


def test_latin_queries_find_malayalam_records(index: RecordIndex) -> None:
    ids = _index(index)
    for name, _, queries in MALAYALAM_RECORDS:
        for query in queries:
            found = [h.person_id for h in index.search.persons(query, limit=5)]
            assert ids[name] in found, (query, name)


def test_scripts_do_not_join_different_names(index: RecordIndex) -> None:
    ids = _index(index)
    assert ids["ലക്ഷ്മി"] not in [h.person_id for h in index.search.persons("Lalitha")]
    assert ids["Ranjith R"] not in [h.person_id for h in index.search.persons("രാജേഷ്")]
