"""English and Malayalam for every page: message catalogs, dates and numbers.

Catalogs are flat JSON objects of dotted keys ("nav.home", "fir.brief_facts") in
`node/web/i18n/<lang>.json`, with `str.format` placeholders ("{ref} saved."). Other parts of the
UI may ship their own catalog as one JSON file holding both languages,
`{"en": {...}, "ml": {...}}`, named `node/web/i18n_<part>.json` (`i18n_auth.json`,
`i18n_staff.json`, ...): every such file is merged at load time, and `Translator.merge` adds
any other.

Lookup never fails a page: a key missing in Malayalam falls back to English, a key missing
everywhere shows as the key itself (logged once), and a placeholder the caller did not pass stays
as written. Dates are shown in India's time (IST) with the month named in the page's language;
numbers use the Indian grouping (12,34,567) with Western digits, as Kerala's offices print them.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from node.records.validation import IST

__all__ = [
    "AUTH_CATALOG",
    "CATALOG_DIR",
    "LANGUAGES",
    "MONTHS",
    "WEEKDAYS",
    "Translator",
    "extra_catalogs",
    "group_indian",
]

log = logging.getLogger(__name__)

LANGUAGES = ("en", "ml")
DEFAULT_LANGUAGE = "en"
HERE = Path(__file__).resolve().parent
CATALOG_DIR = HERE / "i18n"
AUTH_CATALOG = HERE / "i18n_auth.json"

MONTHS: dict[str, tuple[str, ...]] = {
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
    "ml": (
        "ജനുവരി", "ഫെബ്രുവരി", "മാർച്ച്", "ഏപ്രിൽ", "മേയ്", "ജൂൺ", "ജൂലൈ", "ഓഗസ്റ്റ്",
        "സെപ്റ്റംബർ", "ഒക്ടോബർ", "നവംബർ", "ഡിസംബർ",
    ),
}  # fmt: skip
# Monday first, as datetime.weekday() counts.
WEEKDAYS: dict[str, tuple[str, ...]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ml": ("തിങ്കൾ", "ചൊവ്വ", "ബുധൻ", "വ്യാഴം", "വെള്ളി", "ശനി", "ഞായർ"),
}


class _KeepMissing(dict[str, Any]):
    """Format parameters that leave an unknown placeholder as written instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def group_indian(digits: str) -> str:
    """'1234567' -> '12,34,567': the last three digits, then groups of two."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


class Translator:
    """Message catalogs for the UI languages, with date and number formatting.

    `Translator()` loads the package catalogs and every `i18n_*.json` beside this module
    (`extra` names other files instead);
    `Translator(catalogs)` uses the given {lang: {key: text}} instead, for tests.
    """

    languages: tuple[str, ...] = LANGUAGES

    def __init__(
        self,
        catalogs: Mapping[str, Mapping[str, str]] | None = None,
        *,
        folder: Path | None = None,
        extra: tuple[Path, ...] | None = None,
    ) -> None:
        self._catalogs: dict[str, dict[str, str]] = {lang: {} for lang in self.languages}
        self._reported: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        if catalogs is not None:
            self._add(catalogs, source="the given catalogs")
            return
        base = folder if folder is not None else CATALOG_DIR
        for lang in self.languages:
            path = base / f"{lang}.json"
            self._add({lang: _read_object(path)}, source=str(path))
        for path in extra if extra is not None else extra_catalogs():
            if path.exists():
                self.merge(path)

    # -- catalogs ----------------------------------------------------------------------------

    def merge(self, path: str | Path) -> None:
        """Adds a catalog file of the form {"en": {...}, "ml": {...}}; its keys win."""
        self._add(_read_object(Path(path)), source=str(path))

    def _add(self, catalogs: Mapping[str, Any], *, source: str) -> None:
        for lang, entries in catalogs.items():
            if lang not in self._catalogs:
                raise ValueError(f"{source}: unknown language {lang!r} (not one of {LANGUAGES})")
            if not isinstance(entries, Mapping):
                raise ValueError(f"{source}: the {lang} catalog must be an object of strings")
            for key, text in entries.items():
                if not isinstance(key, str) or not isinstance(text, str):
                    raise ValueError(f"{source}: {lang} entry {key!r} is not a string")
                self._catalogs[lang][key] = text

    def keys(self, lang: str) -> set[str]:
        """Every key of one language's catalog."""
        return set(self._catalogs[self.language(lang)])

    def catalog(self, lang: str) -> dict[str, str]:
        """A copy of one language's catalog."""
        return dict(self._catalogs[self.language(lang)])

    def has(self, lang: str, key: str) -> bool:
        """Whether `lang`'s own catalog has `key` (no fallback)."""
        return key in self._catalogs.get(lang, {})

    def language(self, lang: str | None) -> str:
        """`lang` if it is a UI language, else English."""
        return lang if lang in self._catalogs else DEFAULT_LANGUAGE

    # -- messages ----------------------------------------------------------------------------

    def t(self, lang: str, key: str, **params: Any) -> str:
        """The message `key` in `lang`, with `params` filled in (str.format style).

        Falls back to English, then to the key itself (logged once per language and key).
        """
        lang = self.language(lang)
        text = self._catalogs[lang].get(key)
        if text is None:
            text = self._catalogs[DEFAULT_LANGUAGE].get(key)
            self._report(lang, key, found_in_english=text is not None)
            if text is None:
                return key
        if not params:
            return text
        try:
            return text.format_map(_KeepMissing(params))
        except (ValueError, IndexError, AttributeError, TypeError):
            # A malformed template ("{", "{0}") or a format spec the value does not support.
            log.warning("message %r in %s could not be formatted with %s", key, lang, params)
            return text

    def _report(self, lang: str, key: str, *, found_in_english: bool) -> None:
        with self._lock:
            if (lang, key) in self._reported:
                return
            self._reported.add((lang, key))
        if found_in_english:
            log.warning("message %r has no %s text; showing English", key, lang)
        else:
            log.warning("message %r is in no catalog; showing the key", key)

    # -- dates and numbers -------------------------------------------------------------------

    def format_date(self, lang: str, ms: int | str) -> str:
        """A Unix-millisecond time as its date in India: "28 November 2026", "28 നവംബർ 2026"."""
        return self._date(lang, _ist(ms).date())

    def format_iso_date(self, lang: str, iso: str) -> str:
        """An ISO date ("2026-11-28", as in records) for people; other text comes back as is."""
        try:
            return self._date(lang, date.fromisoformat(iso.strip()))
        except ValueError:
            return iso

    def format_datetime(self, lang: str, ms: int | str) -> str:
        """A Unix-millisecond time in India: "28 November 2026, 14:05 IST"."""
        moment = _ist(ms)
        return f"{self._date(lang, moment.date())}, {moment:%H:%M} IST"

    def format_time(self, lang: str, ms: int | str) -> str:
        """The time of day in India: "14:05"."""
        return f"{_ist(ms):%H:%M}"

    def weekday(self, lang: str, ms: int | str) -> str:
        """The day of the week in India: "Saturday", "ശനി"."""
        return WEEKDAYS[self.language(lang)][_ist(ms).weekday()]

    def month_name(self, lang: str, month: int) -> str:
        """The name of month 1-12."""
        return MONTHS[self.language(lang)][month - 1]

    def _date(self, lang: str, day: date) -> str:
        return f"{day.day} {self.month_name(lang, day.month)} {day.year}"

    def format_number(self, lang: str, n: int | float | Decimal | str, decimals: int = 0) -> str:
        """A number with Indian grouping: 1234567 -> "12,34,567"; `decimals` places if asked.

        Both languages use Western digits, as Kerala's offices print figures.
        """
        try:
            value = Decimal(str(n))
        except ArithmeticError:
            return str(n)
        if not value.is_finite():
            return str(n)
        places = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
        value = value.quantize(places, rounding=ROUND_HALF_UP)
        sign = "-" if value < 0 else ""
        whole, _, fraction = f"{abs(value):f}".partition(".")
        grouped = group_indian(whole)
        return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def extra_catalogs(folder: Path = HERE) -> tuple[Path, ...]:
    """The catalogs other parts of the UI ship beside this module: `i18n_*.json`, by name."""
    return tuple(sorted(folder.glob("i18n_*.json")))


def _ist(ms: int | str) -> datetime:
    # Times come from MessageToDict as strings for int64 fields.
    return datetime.fromtimestamp(int(ms) / 1000, IST)


def _read_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"message catalog {path} is missing") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"message catalog {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"message catalog {path} must be a JSON object")
    return data
