"""English and Malayalam catalogs, fallbacks, dates in IST and Indian number grouping."""

from __future__ import annotations

import json
import logging
import re
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from node.records.validation import IST, utc_ms
from node.web.i18n import AUTH_CATALOG, CATALOG_DIR, MONTHS, Translator, group_indian

TEMPLATES = Path(__file__).resolve().parents[2] / "node" / "web" / "templates"
# t("key"), t('key'), and t(lang, "key") as templates and code may call it.
_T_CALL = re.compile(r"""\bt\(\s*(?:[A-Za-z_][\w.]*\s*,\s*)?["']([A-Za-z0-9_.-]+)["']""")
_MALAYALAM = re.compile(r"[\u0d00-\u0d7f]")


def _catalog(lang: str) -> dict[str, str]:
    data = json.loads((CATALOG_DIR / f"{lang}.json").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def tr() -> Translator:
    return Translator()


# -- the catalogs ----------------------------------------------------------------------------


def test_catalogs_have_the_same_keys() -> None:
    en, ml = _catalog("en"), _catalog("ml")
    assert sorted(set(en) - set(ml)) == []
    assert sorted(set(ml) - set(en)) == []
    assert len(en) >= 200


def test_no_empty_values_and_dotted_keys() -> None:
    for lang in Translator.languages:
        for key, text in _catalog(lang).items():
            assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", key), key
            assert text.strip(), f"{lang} {key} is empty"


def test_placeholders_match_between_languages() -> None:
    en, ml = _catalog("en"), _catalog("ml")
    for key, text in en.items():
        assert _placeholders(text) == _placeholders(ml[key]), key


def test_malayalam_catalog_is_malayalam() -> None:
    ml = _catalog("ml")
    # Language names and pure placeholders aside, every message is written in Malayalam script.
    latin_only = [
        key for key, text in ml.items() if not _MALAYALAM.search(text) and key[:5] != "lang."
    ]
    assert all(
        not re.search(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}", "", ml[key])) for key in latin_only
    ), latin_only
    assert ml["fir.title"] == "പ്രഥമ വിവര റിപ്പോർട്ട്"
    assert "ജനറൽ ഡയറി" in ml["nav.general_diary"]


def test_prefixes_cover_the_ui() -> None:
    prefixes = {key.split(".", 1)[0] for key in _catalog("en")}
    assert {
        "nav", "fir", "gd", "petition", "citizen", "case", "dash", "msg", "pdf", "person",
        "search",
    } <= prefixes  # fmt: skip


def test_every_template_key_exists_in_both_catalogs(tr: Translator) -> None:
    templates = sorted(TEMPLATES.glob("*.html")) if TEMPLATES.is_dir() else []
    if not templates:
        pytest.skip("no templates yet")
    missing: list[str] = []
    for path in templates:
        for key in _T_CALL.findall(path.read_text("utf-8")):
            if key.endswith("."):
                continue  # a key built at run time ("staff.role." ~ role): not checkable here
            for lang in tr.languages:
                if not tr.has(lang, key):
                    missing.append(f"{path.name}: {key} ({lang})")
    assert missing == []


def test_auth_catalog_when_present_has_both_languages() -> None:
    if not AUTH_CATALOG.exists():
        pytest.skip("no i18n_auth.json yet")
    data = json.loads(AUTH_CATALOG.read_text("utf-8"))
    assert set(data) <= {"en", "ml"}
    assert set(data.get("en", {})) == set(data.get("ml", {}))


# -- lookups ---------------------------------------------------------------------------------


def test_lookup_and_parameters(tr: Translator) -> None:
    assert tr.t("en", "nav.home") == "Home"
    assert tr.t("ml", "nav.petitions") == "പരാതികൾ"
    assert tr.t("en", "msg.saved_ref", ref="FIR No. 3/2026") == "FIR No. 3/2026 saved."
    assert tr.t("ml", "msg.saved_ref", ref="FIR No. 3/2026") == "FIR No. 3/2026 രേഖപ്പെടുത്തി."
    # A placeholder not passed stays as written rather than failing the page.
    assert tr.t("en", "msg.saved_ref") == "{ref} saved."
    assert tr.t("en", "msg.saved_ref", other=1) == "{ref} saved."


def test_unknown_language_is_english(tr: Translator) -> None:
    assert tr.t("fr", "nav.home") == "Home"
    assert tr.language("ml") == "ml"
    assert tr.language(None) == "en"


def test_missing_malayalam_falls_back_to_english_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tr = Translator({"en": {"a.b": "Only English {n}"}, "ml": {}})
    with caplog.at_level(logging.WARNING, logger="node.web.i18n"):
        assert tr.t("ml", "a.b", n=2) == "Only English 2"
        assert tr.t("ml", "a.b", n=3) == "Only English 3"
    assert len(caplog.records) == 1


def test_missing_everywhere_returns_the_key_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tr = Translator({"en": {}, "ml": {}})
    with caplog.at_level(logging.WARNING, logger="node.web.i18n"):
        assert tr.t("ml", "no.such_key") == "no.such_key"
        assert tr.t("ml", "no.such_key") == "no.such_key"
        assert tr.t("en", "no.such_key") == "no.such_key"
    assert len(caplog.records) == 2  # once per language


def test_merge_adds_and_overrides(tmp_path: Path) -> None:
    extra = tmp_path / "extra.json"
    extra.write_text(
        json.dumps({"en": {"auth.otp": "OTP", "nav.home": "Start"}, "ml": {"auth.otp": "ഒ.ടി.പി"}}),
        "utf-8",
    )
    tr = Translator(extra=())
    tr.merge(extra)
    assert tr.t("ml", "auth.otp") == "ഒ.ടി.പി"
    assert tr.t("en", "nav.home") == "Start"
    assert tr.t("ml", "nav.home") == "ഹോം"


def test_auth_catalog_is_merged_at_load(tmp_path: Path) -> None:
    auth = tmp_path / "i18n_auth.json"
    auth.write_text(json.dumps({"en": {"auth.title": "Sign in"}, "ml": {}}), "utf-8")
    assert Translator(extra=(auth,)).t("ml", "auth.title") == "Sign in"
    assert Translator(extra=(tmp_path / "absent.json",)).t("en", "auth.title") == "auth.title"


def test_bad_catalog_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"fr": {"a.b": "x"}}), "utf-8")
    with pytest.raises(ValueError, match="unknown language"):
        Translator(extra=()).merge(bad)
    bad.write_text("{not json", "utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        Translator(extra=()).merge(bad)


# -- dates and numbers ---------------------------------------------------------------------


def test_dates_are_shown_in_ist_with_malayalam_months(tr: Translator) -> None:
    # 2026-11-28 20:00 UTC is 29 November 01:30 in India.
    ms = utc_ms(datetime(2026, 11, 28, 20, 0, tzinfo=UTC))
    assert ms == utc_ms(datetime(2026, 11, 29, 1, 30, tzinfo=IST))
    assert tr.format_date("en", ms) == "29 November 2026"
    assert tr.format_date("ml", ms) == "29 നവംബർ 2026"
    assert tr.format_datetime("ml", ms) == "29 നവംബർ 2026, 01:30 IST"
    assert tr.format_datetime("en", str(ms)) == "29 November 2026, 01:30 IST"
    assert tr.weekday("ml", ms) == "ഞായർ"
    assert tr.format_iso_date("ml", "2026-08-15") == "15 ഓഗസ്റ്റ് 2026"
    assert tr.format_iso_date("en", "") == ""


def test_every_malayalam_month(tr: Translator) -> None:
    names = [
        tr.format_date("ml", utc_ms(datetime(2026, month, 1, 12, 0))).split()[1]
        for month in range(1, 13)
    ]
    assert names == list(MONTHS["ml"])
    assert names[4] == "മേയ്" and names[7] == "ഓഗസ്റ്റ്"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (99999, "99,999"),
        (100000, "1,00,000"),
        (1234567, "12,34,567"),
        (123456789, "12,34,56,789"),
        (-1234567, "-12,34,567"),
        ("7500000", "75,00,000"),
    ],
)
def test_indian_number_grouping(tr: Translator, value: int | str, expected: str) -> None:
    assert tr.format_number("en", value) == expected
    assert tr.format_number("ml", value) == expected


def test_number_decimals(tr: Translator) -> None:
    assert tr.format_number("en", 1234567.891, decimals=2) == "12,34,567.89"
    assert tr.format_number("en", 12.5) == "13"
    assert tr.format_number("en", "not a number") == "not a number"
    assert group_indian("12345") == "12,345"
