"""The complainant's printable FIR copy (CCTNS IIF-1 layout).

`fir_copy_pdf` lays out an A4 "FIRST INFORMATION REPORT (Under Section 173 BNSS)" from the
record's sealed current view (`node.station.views.current_view`), in English or Malayalam: the
numbered items of the CCTNS Integrated Investigation Form I, then the officer's and complainant's
signature places, and on every page the line that the copy was given free (BNSS 173(2)) with how
to verify the entry in the station's ledger.

Persons whose identity is sealed (a salted commitment in place of the name), and any person the
withholding policy protects (`node.records.withholding`: a child accused too), print as
"[identity withheld by law]": the PDF is built from the sealed view only, never from the
station's sealed store. Whether a copy may be given online at all is `node.web.public_status`'s
question, asked of the same policy.

Fonts (`node.station.pdf_fonts`, shared with the registers): a Malayalam font found on the
machine is embedded beside DejaVu Sans; Malayalam is shaped with HarfBuzz (uharfbuzz), or its
pre-base vowel signs moved by hand without it, or transliterated to Latin with no Malayalam font;
with no TrueType font at all, Helvetica is used. No input makes the copy fail: a character no
font has prints as "?". Shaped text copies back out of the PDF as written (`ShapedTextOutput`).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from node.records.laws import Statutes
from node.records.withholding import assess_view
from node.station.pdf_fonts import (
    FontSet,
    ShapedTextOutput,
    TextFitter,
    find_fonts,
    setup_fonts,
    shaping_available,
    text_pieces,
    visual_order_malayalam,
)
from node.web.i18n import Translator

__all__ = [
    "FontSet",
    "find_fonts",
    "fir_copy_pdf",
    "visual_order_malayalam",
]

log = logging.getLogger(__name__)

IDENTITY_WITHHELD = "person.identity_withheld"
_GD_REF = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d+)$")


# -- the document ----------------------------------------------------------------------------


class _FirPdf(FPDF):
    """A4 pages with the free-copy and verification lines at the foot of each."""

    def __init__(self, writer: TextFitter, footer_lines: list[str], family: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.writer = writer
        self.footer_lines = footer_lines
        self.family = family

    def footer(self) -> None:
        self.set_y(-(8 + 3.5 * len(self.footer_lines)))
        self.set_draw_color(120, 120, 120)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(self.family, "", 7)
        self.set_text_color(60, 60, 60)
        for line in self.footer_lines:
            self.multi_cell(
                0, 3.5, line.replace("{page}", str(self.page_no())), align="C",
                new_x=XPos.LMARGIN, new_y=YPos.NEXT,
            )  # fmt: skip
        self.set_text_color(0, 0, 0)


@dataclass(frozen=True, slots=True)
class _Item:
    number: str
    label: str
    value: str


def _int(value: Any) -> int:
    """An int64 from MessageToDict (a string) or a plain number; 0 when absent or malformed."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _entries(view: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The view's persons with their positions (as the withholding policy numbers them)."""
    persons = view.get("persons")
    if not isinstance(persons, list):
        return []
    return [(n, e) for n, e in enumerate(persons) if isinstance(e, dict)]


def _person(entry: dict[str, Any]) -> dict[str, Any]:
    person = entry.get("person")
    return person if isinstance(person, dict) else {}


class _Copy:
    """Builds the copy's text in one language from the view."""

    def __init__(self, view: dict[str, Any], lang: str, tr: Translator, statutes: Statutes) -> None:
        self.view = view
        self.lang = lang
        self.tr = tr
        self.statutes = statutes
        self.assessment = assess_view(view, statutes)

    def withheld(self, position: int, person: dict[str, Any]) -> bool:
        """Whether the person prints as withheld: sealed, or protected by the withholding policy
        (a view of an older entry may hold a protected person in clear)."""
        return (
            bool(person.get("identity_commitment"))
            or person.get("identity_withheld") is True
            or self.assessment.protected(position)
        )

    def t(self, key: str, **params: Any) -> str:
        return self.tr.t(self.lang, key, **params)

    def when(self, ms: Any) -> str:
        value = _int(ms)
        return self.tr.format_datetime(self.lang, value) if value else ""

    def sections(self) -> str:
        lines: list[str] = []
        for cited in self.view.get("sections") or []:
            if not isinstance(cited, dict):
                continue
            act, section = _text(cited.get("act")), _text(cited.get("section"))
            citation = f"{act} {section}".strip()
            if self.statutes.is_known(act, section):
                found = self.statutes.section(act, section)
                citation = f"{found.act} {section} - {found.title}"
                act_name = self.statutes.act(act).name
                citation = f"{citation} ({act_name})"
            lines.append(citation)
        return "\n".join(lines)

    def person_lines(self, position: int, entry: dict[str, Any], *, contact: bool) -> str:
        person = _person(entry)
        code = _text(entry.get("accused_code"))
        prefix = f"{code}: " if code else ""
        if self.withheld(position, person):
            return prefix + self.t(IDENTITY_WITHHELD)
        if entry.get("unknown") and not _text(person.get("name")):
            head = prefix + self.t("pdf.unknown_accused")
        else:
            head = prefix + (_text(person.get("name")) or self.t("common.unknown"))
        aliases = [a for a in person.get("aliases") or [] if isinstance(a, str) and a.strip()]
        if aliases:
            head += f" @ {' @ '.join(aliases)}"
        parts: list[str] = [head]
        relative = _text(person.get("relative_name"))
        if relative:
            parts.append(f"{_text(person.get('relation'))} {relative}".strip())
        age = _int(person.get("age"))
        details: list[str] = []
        if age:
            details.append(f"{self.t('person.age')}: {self.t('pdf.age_years', age=age)}")
        if _text(person.get("date_of_birth")):
            born = self.tr.format_iso_date(self.lang, _text(person.get("date_of_birth")))
            details.append(f"{self.t('person.date_of_birth')}: {born}")
        sex = _text(person.get("sex")).lower()
        if sex in ("m", "f", "t"):
            details.append(f"{self.t('person.sex')}: {self.t('person.sex_' + sex)}")
        if _text(person.get("nationality")):
            details.append(f"{self.t('person.nationality')}: {_text(person.get('nationality'))}")
        if details:
            parts.append(", ".join(details))
        if _text(person.get("address")):
            parts.append(f"{self.t('person.address')}: {_text(person.get('address'))}")
        if contact and _text(person.get("mobile")):
            parts.append(f"{self.t('person.mobile')}: {_text(person.get('mobile'))}")
        marks = [m for m in person.get("identifying_marks") or [] if isinstance(m, str)]
        if marks:
            parts.append(f"{self.t('person.identifying_marks')}: {'; '.join(marks)}")
        return "\n".join(parts)

    def persons(self, roles: set[str], *, contact: bool) -> str:
        chosen = [(n, e) for n, e in _entries(self.view) if e.get("role") in roles]
        return "\n\n".join(self.person_lines(n, e, contact=contact) for n, e in chosen)

    def property(self) -> tuple[str, int]:
        lines: list[str] = []
        total = 0
        items = [p for p in self.view.get("property") or [] if isinstance(p, dict)]
        for number, item in enumerate(items, 1):
            status = _text(item.get("status")).lower()
            words = [_text(item.get("category")), _text(item.get("description"))]
            line = f"{number}. " + " - ".join(w for w in words if w)
            if status in ("stolen", "recovered", "seized", "unclaimed", "lost"):
                line += f" ({self.t('fir.property_' + status)})"
            value = _int(item.get("value_inr"))
            total += value
            if value:
                line += (
                    f", {self.t('common.rupees', amount=self.tr.format_number(self.lang, value))}"
                )
            vehicle = item.get("vehicle")
            if isinstance(vehicle, dict):
                fields = (
                    ("fir.vehicle_registration", "registration"),
                    ("fir.vehicle_engine", "engine_number"),
                    ("fir.vehicle_chassis", "chassis_number"),
                    ("fir.vehicle_make", "make"),
                    ("fir.vehicle_model", "model"),
                    ("fir.vehicle_colour", "colour"),
                )
                shown = [
                    f"{self.t(k)}: {_text(vehicle.get(f))}"
                    for k, f in fields
                    if _text(vehicle.get(f))
                ]
                if shown:
                    line += "\n   " + ", ".join(shown)
            if _text(item.get("identifiers")):
                line += (
                    f"\n   {self.t('fir.property_identifiers')}: {_text(item.get('identifiers'))}"
                )
            lines.append(line)
        return "\n".join(lines), total

    def place(self) -> tuple[str, str, str]:
        place = self.view.get("place_of_occurrence")
        place = place if isinstance(place, dict) else {}
        distance = _float(place.get("distance_from_station_km"))
        direction = _text(place.get("direction_from_station"))
        where = ""
        if distance or direction:
            km = f"{distance:g}" if distance else ""
            where = self.t("pdf.distance_value", distance=km, direction=direction).strip()
        beat = " / ".join(w for w in (_text(place.get("beat")), _text(place.get("village"))) if w)
        return where, beat, _text(place.get("description"))

    def gd_reference(self) -> str:
        ref = _text(self.view.get("gd_reference"))
        match = _GD_REF.match(ref)
        if not match:
            return ref
        day = self.tr.format_iso_date(self.lang, match[1])
        return f"GD {ref} ({self.t('gd.number')} {match[2]}, {day})"

    def items(self, station_name: str, district: str) -> list[_Item]:
        v = self.view
        number = _text(v.get("fir_number")) or _text(v.get("zero_fir_number"))
        year = _int(v.get("fir_year"))
        occurred_from = _int(v.get("occurrence_from_ms"))
        info_type = _text(v.get("information_type")).lower()
        where, beat, address = self.place()
        property_text, total = self.property()
        complainant = self.persons({"COMPLAINANT", "INFORMANT"}, contact=True)
        accused = self.persons({"ACCUSED", "SUSPECT"}, contact=False)
        victims = self.persons({"VICTIM", "MISSING"}, contact=False)
        none = self.t("pdf.none_recorded")
        zero = bool(v.get("zero_fir"))
        jurisdiction = _text(v.get("jurisdiction_station"))
        if zero and jurisdiction:
            action = self.t("pdf.action_transferred", station=jurisdiction)
        else:
            action = self.t("pdf.action_registered")
        items = [
            _Item("1", self.t("pdf.district"), _text(v.get("district")) or district),
            _Item("", self.t("pdf.police_station"), _text(v.get("police_station")) or station_name),
            _Item("", self.t("pdf.year"), str(year) if year else ""),
            _Item("", self.t("pdf.fir_no"), number),
        ]
        if zero and _text(v.get("zero_fir_number")) and _text(v.get("fir_number")):
            items.append(_Item("", self.t("pdf.zero_fir"), _text(v.get("zero_fir_number"))))
        items += [
            _Item("", self.t("pdf.fir_date_time"), self.when(v.get("registered_at_ms"))),
            _Item("2", self.t("pdf.acts_sections"), self.sections() or none),
            _Item("3 (a)", self.t("pdf.occurrence"), ""),
            _Item(
                "",
                self.t("pdf.day"),
                self.tr.weekday(self.lang, occurred_from) if occurred_from else "",
            ),
            _Item("", self.t("pdf.date_time_from"), self.when(occurred_from)),
            _Item("", self.t("pdf.date_time_to"), self.when(v.get("occurrence_to_ms"))),
            _Item("(b)", self.t("pdf.info_received"), self.when(v.get("information_received_ms"))),
            _Item("(c)", self.t("pdf.gd_reference"), self.gd_reference()),
            _Item(
                "4",
                self.t("pdf.information_type"),
                self.t("fir.information_" + info_type)
                if info_type in ("oral", "written", "electronic")
                else info_type,
            ),
            _Item("5 (a)", self.t("pdf.distance_direction"), where),
            _Item("", self.t("pdf.beat_village"), beat),
            _Item("(b)", self.t("pdf.address"), address),
            _Item("(c)", self.t("pdf.outside_ps"), jurisdiction if zero else ""),
            _Item("6", self.t("pdf.complainant"), complainant or none),
            _Item("7", self.t("pdf.accused"), accused or none),
        ]
        if victims:
            items.append(_Item("", self.t("pdf.other_persons"), victims))
        items += [
            _Item("8", self.t("pdf.property"), property_text or none),
            _Item(
                "9",
                self.t("pdf.total_value"),
                self.tr.format_number(self.lang, total) if total else "",
            ),
            _Item("10", self.t("pdf.brief_facts"), _text(v.get("brief_facts"))),
            _Item("11", self.t("pdf.action_taken"), f"{action}\n{self.t('pdf.read_over')}"),
        ]
        return items


def fir_copy_pdf(
    view: dict[str, Any],
    *,
    station_name: str,
    district: str,
    lang: str = "en",
    verified: str = "",
    compress: bool = True,
    fonts: FontSet | None = None,
    translator: Translator | None = None,
    statutes: Statutes | None = None,
) -> bytes:
    """The complainant's copy of an FIR as PDF bytes, from its sealed `current_view`.

    `verified` is printed at the foot of each page (e.g. the ledger entry, the checkpoint and the
    command that proves it). `compress=False` leaves the page streams readable (for tests);
    `fonts` overrides the fonts found on the machine.
    """
    tr = translator or _default_translator()
    fonts = fonts if fonts is not None else find_fonts()
    lang = tr.language(lang)
    if lang != "en" and not fonts.has_malayalam:
        lang = "en"  # Malayalam labels transliterated to Latin would help nobody.
    shaping = shaping_available()
    try:
        return _render(
            view, station_name, district, lang, verified, compress, fonts, tr, statutes, shaping
        )
    except Exception:
        if not shaping:
            raise
        # The shaping engine is optional: a failure in it must not cost the complainant a copy.
        log.exception("Malayalam text shaping failed; drawing the FIR copy unshaped")
        return _render(
            view, station_name, district, lang, verified, compress, fonts, tr, statutes, False
        )


@functools.cache
def _default_translator() -> Translator:
    return Translator()


_pieces = text_pieces

# The most characters of a value in one row of the FIR copy's table: some 25 lines of its
# column, well within a page even where Malayalam glyphs run wide.
PIECE_CHARS = 1200


def _render(
    view: dict[str, Any],
    station_name: str,
    district: str,
    lang: str,
    verified: str,
    compress: bool,
    fonts: FontSet,
    tr: Translator,
    statutes: Statutes | None,
    shaping: bool,
) -> bytes:
    writer = TextFitter(fonts, shaping)
    copy = _Copy(view, lang, tr, statutes or Statutes.default())
    number = _text(view.get("fir_number")) or _text(view.get("zero_fir_number"))
    footer = [f"{number}  |  {copy.t('pdf.free_copy')}  |  {copy.t('pdf.page', page='{page}')}"]
    if verified.strip():
        footer.append(verified.strip())
    footer = [writer.fit(line) for line in footer]
    family = "helvetica" if writer.core else "cctns"
    pdf = _FirPdf(writer, footer, family)
    pdf.set_compression(compress)
    setup_fonts(pdf, fonts, writer)
    if writer.shaping:
        pdf.set_text_shaping(True)
    pdf.set_title(writer.fit(f"{copy.t('pdf.title')} {number}"))
    pdf.set_creator("cctns")
    pdf.set_margins(15, 12, 15)
    pdf.add_page()
    # Room at the foot for the footer: the free-copy line and the verification text, wrapped.
    pdf.set_font(family, "", 7)
    pdf.footer_lines = _wrapped(pdf, footer)
    pdf.set_auto_page_break(True, margin=8 + 3.5 * len(pdf.footer_lines) + 4)

    def line(text: str, size: float, style: str = "", align: str = "C", height: float = 6) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(
            0, height, writer.fit(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    line(copy.t("pdf.form_name"), 9)
    line(copy.t("pdf.title"), 14, "B", height=7)
    line(copy.t("pdf.under_section"), 10)
    pdf.ln(3)

    pdf.set_font(family, "", 9)
    pdf.set_draw_color(140, 140, 140)
    with pdf.table(
        col_widths=(12, 58, 120),
        first_row_as_headings=False,
        line_height=4.8,
        text_align=("LEFT", "LEFT", "LEFT"),
        padding=1.2,
    ) as table:
        for item in copy.items(station_name, district):
            # A row never breaks across pages: a long value (brief facts of up to 20,000
            # characters, node/records/limits.py) goes on in rows of its own.
            for part, text in enumerate(_pieces(writer.fit(item.value), PIECE_CHARS)):
                row = table.row()
                row.cell(writer.fit(item.number) if part == 0 else "")
                row.cell(writer.fit(item.label) if part == 0 else "")
                row.cell(text)

    # The signature places and closing lines stay together on one page.
    if pdf.get_y() + 70 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(14)
    half = pdf.epw / 2
    pdf.set_font(family, "", 9)
    y = pdf.get_y()
    pdf.multi_cell(half - 4, 4.5, writer.fit(copy.t("pdf.complainant_signature")), align="L")
    left_end = pdf.get_y()
    pdf.set_xy(pdf.l_margin + half + 4, y)
    blank = "_" * 20
    officer = f"{copy.t('pdf.officer_signature')}\n{copy.t('pdf.officer_name_rank')}: {blank}"
    pdf.multi_cell(half - 4, 4.5, writer.fit(officer), align="R")
    pdf.set_y(max(left_end, pdf.get_y()) + 6)
    line(f"12  {copy.t('pdf.despatch_to_court')}: {blank}", 9, align="L", height=5)
    pdf.ln(2)
    line(copy.t("pdf.free_copy"), 9, "B", align="L", height=5)
    if verified.strip():
        line(f"{copy.t('pdf.verify')}: {verified.strip()}", 8, align="L", height=4.5)
    return bytes(pdf.output(output_producer_class=ShapedTextOutput))


def _wrapped(pdf: FPDF, lines: list[str]) -> list[str]:
    out: list[str] = []
    for text in lines:
        wrapped = pdf.multi_cell(pdf.epw, 3.5, text, dry_run=True, output="LINES")
        out.extend(wrapped if isinstance(wrapped, list) else [text])
    return out
