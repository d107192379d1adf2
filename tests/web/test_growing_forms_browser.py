"""The case page's investigation forms grow with the case, in Chromium against a real node
process: a burglary recovery of 40 items and two witnesses typed into the seizure mahazar from
the keyboard (Enter on "Add an item" puts the focus in the new row), the page reloaded (a
session that timed out, say) and every row back from the draft, then recorded; an arrest memo
of three accused, each with their own person informed. The node is stopped and the station's
log and index are read: one seizure entry with 40 items in the property register, three arrest
entries each with its own clock and person informed; the drafts are gone. With
CCTNS_SCREENSHOTS set, the seizure form is kept as a screenshot in English and Malayalam."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from node.config import DataDir
from node.index import casework as casework_index
from node.index import investigation as held
from node.station import registers
from node.station.core import Station
from node.web.urls import ref_slug
from tests.node.support import theft_fir
from tests.web.browser import (
    WebNode,
    browser_fixture,  # noqa: F401  (the `browser` fixture)
    create_station,
    screenshot_dir,
    serve,
    sign_in,
)

pytestmark = pytest.mark.slow  # a node process and a browser
TIMEOUT_MS = 20_000
ITEMS = 40
ARRESTED = (
    ("A1", "Biju Rioter", "Latha, mother"),
    ("A2", "Shaji Rioter", "Shyla, wife"),
    ("A3", "Manoj Rioter", "Mani, father"),
)


def _login(page: Any, node: WebNode) -> str:
    officer = node.new_officer(role="sho", sex="F", name="Anitha Kumari")
    sign_in(page, node.base_url, officer)
    return officer.officer_id


def _form_shot(page: Any, name: str) -> None:
    """The seizure form alone as <CCTNS_SCREENSHOTS>/<name>.png (nothing when unset): its first
    rows, then its items folded (the badge counts them) above the mahazar."""
    folder = screenshot_dir()
    if folder is None:
        return
    page.click("#section-seizure-items > summary")
    assert page.get_attribute("#section-seizure-items", "open") is None
    page.locator("#form-seizure").screenshot(path=str(folder / f"{name}.png"))
    page.click("#section-seizure-items > summary")


def _type_seizure(page: Any) -> None:
    """The mahazar's 40 items and two witnesses, from the keyboard."""
    page.focus("#item_0_category")
    for n in range(ITEMS):
        if n:
            page.press("#form-seizure button[data-add='item']", "Enter")
        page.keyboard.insert_text("gold")
        page.keyboard.press("Tab")
        page.keyboard.insert_text(f"Gold bangle {n + 1:02d}")
        page.keyboard.press("Tab")
        page.keyboard.insert_text(str(20_000 + n))
    page.fill("#seizure-place", "The accused's rented room, HMT Colony")
    page.fill("#seizure-video", "VID/KLM/2026/301 (body camera 2)")
    page.focus("#witness_0_name")
    page.keyboard.insert_text("Ramesh K, HMT Colony")
    page.press("#form-seizure button[data-add='witness']", "Enter")
    page.keyboard.insert_text("Abdul Salam, shopkeeper")


def _type_arrests(page: Any) -> None:
    """An arrest memo of three accused, each row from the keyboard: code, name, and six Tabs
    on (relation, relative, age, sex, address) to the person informed."""
    page.focus("#arrested_0_accused_code")
    for n, (code, name, informed) in enumerate(ARRESTED):
        if n:
            page.press("#form-arrest button[data-add='arrested']", "Enter")
        page.keyboard.insert_text(code)
        page.keyboard.press("Tab")
        page.keyboard.insert_text(name)
        for _ in range(6):
            page.keyboard.press("Tab")
        page.keyboard.insert_text(informed)
    page.fill("#arrest-place", "Kalamassery market")
    page.fill("#arrest-grounds", "Seen in the video of the riot carrying the stolen gold")
    page.fill("#arrest-witness", "Ramesh K, shopkeeper")


def test_seizure_of_40_items_and_arrest_of_three_from_the_keyboard(
    browser: Any, tmp_path: Path
) -> None:
    started = time.monotonic()
    data_dir = create_station(tmp_path / "station", records=0)
    station = Station.open(DataDir(data_dir))
    try:
        ref = registers.register_fir(station, "PEN100001", theft_fir()).ref
    finally:
        station.close()
    with serve(data_dir) as node:
        context = browser.new_context(locale="en-IN")
        context.set_default_timeout(TIMEOUT_MS)
        try:
            page = context.new_page()
            officer_id = _login(page, node)
            case = f"{node.base_url}/case/{ref_slug(ref)}"
            page.goto(case)
            _type_seizure(page)
            assert page.inner_text("#section-seizure-items summary .badge") == str(ITEMS)
            # A row added by mistake and removed: the focus moves on, the count is back.
            page.press("#form-seizure button[data-add='item']", "Enter")
            page.click(f"#item-rows > .row[data-row='{ITEMS}'] .remove-row")
            assert page.locator("#item-rows > .row").count() == ITEMS
            page.wait_for_timeout(500)  # the draft is kept a moment after the typing stops

            # The session times out, say: the page again, every row back from the draft.
            page.reload()
            assert page.is_visible("#seizure-draft-note")
            assert page.locator("#item-rows > .row").count() == ITEMS
            assert page.input_value("#item_39_description") == "Gold bangle 40"
            assert page.input_value("#item_39_value") == "20039"
            assert page.input_value("#witness_1_name") == "Abdul Salam, shopkeeper"
            assert page.input_value("#seizure-video") == "VID/KLM/2026/301 (body camera 2)"
            assert not page.is_visible("#arrest-draft-note")  # another form, no draft
            key = f"cctns-draft:{officer_id}:{ref}:seizure"
            assert page.evaluate(f"localStorage.getItem('{key}') !== null")
            _form_shot(page, "case-seizure-form")
            page.goto(f"{case}?lang=ml")
            assert page.input_value("#item_39_description") == "Gold bangle 40"
            _form_shot(page, "case-seizure-form-ml")
            page.goto(f"{case}?lang=en")

            page.focus("#form-seizure button[type=submit]")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "saved=seizure" in page.url, page.inner_text("main")[:2000]
            assert not page.is_visible("#seizure-draft-note")
            assert page.evaluate(f"localStorage.getItem('{key}')") is None
            assert page.locator("#item-rows > .row").count() == 1
            register = page.inner_text("#case-property")
            assert all(f"Gold bangle {n:02d}" in register for n in range(1, ITEMS + 1))

            _type_arrests(page)
            assert page.inner_text("#section-arrest-persons summary .badge") == "3"
            page.focus("#form-arrest button[type=submit]")
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert "saved=arrest" in page.url, page.inner_text("main")[:2000]
            custody = page.inner_text("#case-custody")
            assert all(f"{code} {name}" in custody for code, name, _ in ARRESTED), custody
        finally:
            context.close()

    # The station's log and index, read with the node stopped.
    station = Station.open(DataDir(data_dir))
    try:
        events = casework_index.case_events(station.index, ref)
        bodies = [station.ledger.body(e.ledger_index).case_event for e in events]
        (seizure,) = [b for b in bodies if b.kind == "seizure"]
        assert [i.description for i in seizure.property] == [
            f"Gold bangle {n:02d}" for n in range(1, ITEMS + 1)
        ]
        assert list(seizure.mahazar.witnesses) == [
            "Ramesh K, HMT Colony",
            "Abdul Salam, shopkeeper",
        ]
        assert len(held.property_register(station.index, ref)) == ITEMS
        arrests = [b for b in bodies if b.kind == "arrest"]
        assert [
            (b.persons[0].accused_code, b.persons[0].person.name, b.arrest_memo.informed_person)
            for b in arrests
        ] == list(ARRESTED)
        rows = held.arrests(station.index, ref)
        assert sorted(r.accused_code for r in rows) == ["A1", "A2", "A3"]
        assert all(r.awaiting_production and r.memo_complete for r in rows)
    finally:
        station.close()
    assert time.monotonic() - started < 60
