"""Reading the case page's investigation forms, which grow with the case like the FIR form
(`node.web.forms`, /static/growing_form.js): rows named <kind>_<index>_<field>, any number of
each, rows left empty skipped, a removed row leaving a gap.

- the arrest memo: the memo's place, grounds and attesting witness once, then one row a person
  arrested ("arrested_2_name", "arrested_2_informed_person", "arrested_2_at": each their own
  person informed and time, the memo's time when left empty) -> `casework.Arrest` each;
- the seizure mahazar: place, video record, then item rows ("item_39_category") and witness rows
  ("witness_1_name");
- the case diary day: what was done, places, then statement rows ("statement_0_witness_name",
  "statement_0_statement") and document rows ("document_3_title");
- the final report: its type, then the sections ("offence_0_section") and the accused charged
  ("charged_0_accused_code");
- the court's disposal: the result, court, judgment date and sentence, then the accused it is
  about ("judged_0_accused_code") and the sections convicted under ("cited_0_section").

A client that sends no rows of a kind (one person, one item, the witnesses one a line) is read
as the form was before it grew: the row's fields without a prefix ("name", "category",
"witnesses"). Each reader appends to the `RowsRead` it is given one line a problem, the row's
problems under the row's prefix too, and returns what it could read; the station checks the
rest (node/station/casework.py) and the table of limits bounds every field and count.
"""

from __future__ import annotations

from collections.abc import Mapping

from node.records import limits
from node.station.casework import Arrest
from node.web import forms
from node.web.forms import RowsRead
from protos import records_pb2

__all__ = [
    "ARREST_KINDS",
    "DIARY_KINDS",
    "DISPOSAL_KINDS",
    "GROWING",
    "MOST",
    "REPORT_KINDS",
    "SEIZURE_KINDS",
    "arrests",
    "diary",
    "disposal",
    "final_report",
    "lines",
    "rows",
    "seizure",
    "shown_rows",
    "ticked",
]

ARREST_KINDS = ("arrested",)
SEIZURE_KINDS = ("item", "witness")
DIARY_KINDS = ("statement", "document")
REPORT_KINDS = ("offence", "charged")
DISPOSAL_KINDS = ("judged", "cited")
# The case actions whose forms grow, and their kinds of row.
GROWING: dict[str, tuple[str, ...]] = {
    "arrest": ARREST_KINDS,
    "seizure": SEIZURE_KINDS,
    "diary": DIARY_KINDS,
    "final-report": REPORT_KINDS,
    "disposal": DISPOSAL_KINDS,
}
# The most rows of each kind: the limits of the fields they fill (node.records.limits).
MOST: dict[str, int] = {
    "arrested": limits.count("CaseEvent.persons"),
    "item": limits.count("CaseEvent.property"),
    "witness": limits.count("Mahazar.witnesses"),
    "statement": limits.count("DiaryDay.statements"),
    "document": limits.count("DiaryDay.documents"),
    "offence": limits.count("CaseEvent.sections"),
    "charged": limits.count("CaseEvent.persons"),
    "judged": limits.count("Disposal.accused_codes"),
    "cited": limits.count("Disposal.sections"),
}
_PERSON_FIELDS = ("accused_code", "name", "relation", "relative_name", "age", "sex", "address")
_ITEM_FIELDS = ("category", "description", "value", "identifiers")


def lines(text: str) -> list[str]:
    """A textarea's lines, each stripped, the empty ones dropped (one place a line...)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def ticked(values: Mapping[str, str], prefix: str) -> list[str]:
    """What a form's ticked boxes name, in the form's order: "accused_A2=on" -> "A2" (a box
    sends its name only when ticked, with the value "on"; other fields of the prefix, such as
    "accused_code", are not boxes)."""
    return [
        name[len(prefix) :]
        for name, value in values.items()
        if name.startswith(prefix) and value == "on"
    ]


def rows(values: Mapping[str, str], kind: str) -> list[str]:
    """The field prefix of every row of `kind` sent ("item_0_", "item_3_"), in order; [""] when
    none was (the fields without a prefix: a client that does not grow rows)."""
    indexes = forms.row_indexes(values, (kind,))[kind]
    return [f"{kind}_{i}_" for i in indexes] or [""]


def shown_rows(values: Mapping[str, str]) -> dict[str, list[int]]:
    """The rows each growing form of the case page shows: those of the form just refused
    (`values["action"]` names it), at least one of each kind (a form works without script)."""
    shown: dict[str, list[int]] = {}
    for action, kinds in GROWING.items():
        sent = values if values.get("action") == action else {}
        for kind, indexes in forms.row_indexes(sent, kinds).items():
            shown[kind] = indexes or [0]
    return shown


def _number(prefix: str) -> str:
    """The row's number as its legend shows it ("item_2_" is 3)."""
    return str(int(prefix.split("_")[1]) + 1) if prefix else "1"


def _filled(values: Mapping[str, str], prefix: str, names: tuple[str, ...]) -> bool:
    return any(values.get(prefix + name, "").strip() for name in names)


def arrests(values: Mapping[str, str], form: RowsRead) -> list[Arrest]:
    """The arrest memo: one `Arrest` a person arrested, the memo's particulars shared, each
    with their own person informed (and when) and time of arrest."""
    at = forms.local_ms(values.get("at", ""), "time", form.problems)
    text = values.get("text", "")
    out: list[Arrest] = []
    for prefix in rows(values, "arrested"):
        wanted = (*_PERSON_FIELDS, "informed_person", "informed_at", "at") if prefix else ()
        if prefix and not _filled(values, prefix, wanted):
            continue
        what = f"arrested person {_number(prefix)}"
        found: list[str] = []
        person = forms.person(values, prefix, what, found)
        person.ClearField("mobile")  # not a field of the memo
        found += [f"{what}: {line}" for line in limits.problems(person)]
        memo = records_pb2.ArrestMemo(
            place=values.get("place", ""),
            grounds=values.get("grounds", ""),
            attesting_witness=values.get("attesting_witness", ""),
            informed_person=values.get(prefix + "informed_person", ""),
            informed_at_ms=forms.local_ms(
                values.get(prefix + "informed_at", ""), f"{what}: informed at", found
            ),
            notice_to_appear=bool(values.get("notice_to_appear")),
        )
        own_at = (
            forms.local_ms(values.get(prefix + "at", ""), f"{what}: time", found) if prefix else 0
        )
        form.refuse(prefix, found)
        accused = records_pb2.PersonInCase(
            person=person,
            role=records_pb2.ACCUSED,
            accused_code=values.get(prefix + "accused_code", "").strip().upper(),
        )
        out.append(Arrest(accused, memo, at_ms=(own_at or at) or None, text=text))
    if not out:
        form.problems.append("name at least one arrested person")
    return out


def seizure(
    values: Mapping[str, str], form: RowsRead
) -> tuple[list[records_pb2.PropertyItem], records_pb2.Mahazar]:
    """The seizure mahazar: its items (any number) and its witnesses (any number)."""
    items: list[records_pb2.PropertyItem] = []
    for prefix in rows(values, "item"):
        if prefix and not _filled(values, prefix, _ITEM_FIELDS):
            continue
        what = f"item {_number(prefix)}"
        found: list[str] = []
        item = records_pb2.PropertyItem(
            category=values.get(prefix + "category", "").strip().lower(),
            description=values.get(prefix + "description", "").strip(),
            status=records_pb2.SEIZED,
            value_inr=forms.rupees(values.get(prefix + "value", ""), what, found),
            identifiers=values.get(prefix + "identifiers", "").strip(),
        )
        if not item.category:
            found.append(f"{what}: the category is required (mobile phone, gold, cash…)")
        found += [f"{what}: {line}" for line in limits.problems(item)]
        form.refuse(prefix, found)
        items.append(item)
    witnesses = [values.get(p + "name", "").strip() for p in rows(values, "witness") if p]
    mahazar = records_pb2.Mahazar(
        place=values.get("place", "").strip(),
        witnesses=[w for w in witnesses if w] or lines(values.get("witnesses", "")),
        video_reference=values.get("video_reference", "").strip(),
    )
    return items, mahazar


def diary(values: Mapping[str, str], form: RowsRead) -> records_pb2.DiaryDay:
    """The case diary of one day: statements recorded and documents collected, any number."""
    statements: list[records_pb2.DiaryStatement] = []
    for prefix in rows(values, "statement"):
        if not _filled(values, prefix, ("witness_name", "statement")):
            continue
        statements.append(
            records_pb2.DiaryStatement(
                witness=records_pb2.Person(name=values.get(prefix + "witness_name", "").strip()),
                summary=values.get(prefix + "statement", "").strip(),
            )
        )
    documents = [values.get(p + "title", "").strip() for p in rows(values, "document") if p]
    return records_pb2.DiaryDay(
        day=values.get("day", "") or forms.today(),
        places_visited=lines(values.get("places", "")),
        statements=statements,
        documents=[d for d in documents if d] or lines(values.get("documents", "")),
    )


def _sections(values: Mapping[str, str], kind: str, form: RowsRead) -> list[records_pb2.ActSection]:
    """The sections of the rows of `kind` ("offence_0_section"), or of the one field "sections"
    (commas between them) when no row was sent."""
    sections: list[records_pb2.ActSection] = []
    for prefix in rows(values, kind):
        if not prefix:
            sections += forms.sections(values.get("sections", ""), form.problems)
            continue
        found: list[str] = []
        cited = forms.section_citation(values.get(prefix + "section", ""), found)
        form.refuse(prefix, [f"section {_number(prefix)}: {line}" for line in found])
        if cited is not None:
            sections.append(cited)
    return sections


def _codes(values: Mapping[str, str], kind: str) -> list[str]:
    """The accused codes of the rows of `kind` ("charged_0_accused_code"), each once, in order."""
    given = (values.get(p + "accused_code", "").strip().upper() for p in rows(values, kind))
    return [code for code in dict.fromkeys(given) if code]


def final_report(
    values: Mapping[str, str], form: RowsRead
) -> tuple[list[records_pb2.ActSection], list[records_pb2.PersonInCase]]:
    """The final report's sections finally applied and the accused it charges (by their codes
    in the FIR), any number of each."""
    charged = [
        records_pb2.PersonInCase(role=records_pb2.ACCUSED, accused_code=code)
        for code in _codes(values, "charged")
    ]
    return _sections(values, "offence", form), charged


def disposal(values: Mapping[str, str], form: RowsRead) -> records_pb2.Disposal:
    """The court's judgment: the accused it is about (by their codes in the FIR) and the
    sections convicted under, any number of each."""
    return records_pb2.Disposal(
        result=values.get("result", "").strip(),
        accused_codes=_codes(values, "judged"),
        sections=_sections(values, "cited", form),
        sentence=values.get("sentence", "").strip(),
        judgment_date=values.get("judgment_date", "").strip(),
        court=values.get("court", "").strip(),
        case_number=values.get("case_number", "").strip(),
    )
