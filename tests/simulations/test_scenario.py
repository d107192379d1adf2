"""The scenario files and their loader: offices expanded exactly, scale keeps the hierarchy
whole, every figure sourced, and a bad file named with what is wrong."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from federation.trust.identity import ROLES, valid_node_id
from ledger.errors import InputError
from simulations.sim.scenario import (
    FAULT_KINDS,
    SCENARIO_DIR,
    WORK_KINDS,
    Scenario,
    arrivals,
    even_split,
    load_scenario,
    parse_duration,
    scenario_from_dict,
)

GO_LIVE = (
    "Malappuram",
    "Wayanad",
    "Palakkad",
    "Thiruvananthapuram City",
    "Kasaragod",
    "Ernakulam City",
    "Ernakulam Rural",
    "Idukki",
    "Kottayam",
    "Alappuzha",
    "Thrissur City",
    "Thiruvananthapuram Rural",
    "Kozhikkode Rural",
    "Kollam City",
    "Kozhikkode City",
    "Pathanamthitta",
    "Kollam Rural",
    "Kannur",
    "Thrissur Rural",
)


@pytest.fixture(scope="module")
def kerala() -> Scenario:
    return load_scenario("kerala")


@pytest.fixture(scope="module")
def india() -> Scenario:
    return load_scenario("india")


def kerala_data() -> dict[str, Any]:
    return tomllib.loads((SCENARIO_DIR / "kerala.toml").read_text())


def assert_tree_whole(scenario: Scenario) -> None:
    """Every office's parent is in the scenario, ids are unique and valid, parents come first,
    and every station's chain of roles is the scenario's levels."""
    seen: set[str] = set()
    for office in scenario.offices:
        assert valid_node_id(office.node_id), office
        assert office.role in ROLES
        assert office.node_id not in seen
        assert office.parent == "" or office.parent in seen, office
        seen.add(office.node_id)
    assert [o.parent for o in scenario.offices].count("") == 1
    for station in scenario.by_role("station"):
        chain = [station.role] + [a.role for a in scenario.ancestors(station.node_id)]
        assert tuple(reversed(chain)) == scenario.levels, chain


def test_kerala_expands_to_the_835_offices_of_the_description(kerala: Scenario) -> None:
    counts = kerala.counts()
    assert counts["station"] == 482
    assert counts["circle"] == 203
    assert counts["sub-division"] == 62
    assert counts["district"] == 20
    assert counts["control-room"] == 20
    assert counts["state"] == 1
    assert kerala.office("kerala/scrb").role == "state"
    kerala_offices = [o for o in kerala.offices if o.state == "kerala"]
    assert len(kerala_offices) == 835
    # The rest are the forensic and fingerprint bureaux (835 - 787 - SCRB).
    assert counts["forensic-lab"] + counts["fingerprint-bureau"] == 835 - 787 - 1
    # The national node stands above SCRB.
    assert kerala.root.role == "national"
    assert kerala.office("kerala/scrb").parent == kerala.root.node_id
    assert kerala.levels == ("national", "state", "district", "sub-division", "circle", "station")
    assert_tree_whole(kerala)


def test_kerala_has_the_19_police_districts_of_the_go_live_table(kerala: Scenario) -> None:
    assert tuple(d.name for d in kerala.police_districts) == GO_LIVE
    for district in kerala.districts:
        office = kerala.office(district.node_id)
        assert office.role == "district" and office.district == district.id
        below = kerala.subtree(district.node_id)
        assert any(o.role == "station" for o in below)
        assert all(o.district == district.id for o in below)
    # Thrissur City as its own page gives it; the district office has a control room.
    thrissur = kerala.subtree("kerala/thrissur-city/dpo")
    assert Counter(o.role for o in thrissur)["station"] == 23
    assert Counter(o.role for o in thrissur)["sub-division"] == 4
    assert Counter(o.role for o in thrissur)["control-room"] == 1


def test_india_has_about_17000_stations_in_36_states_and_uts(india: Scenario) -> None:
    counts = india.counts()
    assert 16_000 <= counts["station"] <= 18_000
    assert counts["state"] == len(india.states) == 36
    assert counts["national"] == 1
    assert india.levels == ("national", "state", "district", "station")
    by_state = Counter(o.state for o in india.by_role("station"))
    assert len(by_state) == 36 and min(by_state.values()) >= 1
    for state in india.states:
        assert state.stations == by_state[state.id]
        assert india.office(state.node_id).parent == india.root.node_id
    # The states' cases sum to NCRB's published 2022 total (58,24,946), within rounding.
    total = sum(s.cases_per_year for s in india.states)
    assert abs(total - 5_824_946) / 5_824_946 < 0.001
    assert_tree_whole(india)


def test_station_firs_follow_the_states_published_cases(india: Scenario) -> None:
    kerala = next(s for s in india.states if s.id == "kerala")
    station = next(o for o in india.by_role("station") if o.state == "kerala")
    assert india.rates(station.node_id).firs == pytest.approx(
        kerala.cases_per_year / kerala.stations / 365
    )
    per_day = india.work_per_day()
    assert per_day["fir"] == pytest.approx(sum(s.cases_per_year for s in india.states) / 365)


@pytest.mark.parametrize("name", ["kerala", "india"])
def test_workload_rates_are_positive_and_every_figure_sourced(name: str) -> None:
    scenario = load_scenario(name)
    for office in scenario.by_role("station")[:50]:
        rates = scenario.rates(office.node_id)
        for kind in WORK_KINDS:
            assert rates.per_day(kind) > 0, (office.node_id, kind)
    assert len(scenario.hour_weights) == 24
    assert sum(scenario.hour_weights) == pytest.approx(1.0)
    assert max(scenario.hour_weights) > min(scenario.hour_weights)  # a daily rhythm
    for figure, key in scenario.figure_sources.items():
        assert key in scenario.sources, figure
    for role in ("station", "state"):
        for figure in ("gd_entries", "firs", "petitions", "officers", "searches_per_officer"):
            assert f"{role}.{figure}" in scenario.figure_sources
    for link in scenario.links.values():
        assert link.source in scenario.sources
    statuses = {s.status for s in scenario.sources.values()}
    assert statuses <= {"verified", "unverified", "assumption"}
    # Assumptions are said to be assumptions, in the file and in SOURCES.md.
    assert scenario.sources["assumption-gd"].status == "assumption"
    sources_md = (SCENARIO_DIR / "SOURCES.md").read_text()
    for source in scenario.sources.values():
        assert source.key in sources_md, source.key


def test_the_engine_reads_the_scenario_as_it_expects(kerala: Scenario) -> None:
    assert kerala.offices[5].id == kerala.offices[5].node_id
    workload = kerala.workload
    assert len(workload.rhythm) == 24
    assert workload.entries_per_day("station") > workload.entries_per_day("circle") > 0
    assert workload.searches_per_day("station") > 0
    assert workload.entries_per_day("no-such-role") == 0
    assert {f.kind for f in kerala.faults} == set(FAULT_KINDS)
    cut = next(f for f in kerala.faults if f.kind == "district-cut")
    assert cut.target == "kerala/wayanad/dpo" and cut.at == parse_duration("2d8h", "at")
    slow = next(f for f in kerala.faults if f.kind == "slow-link")
    assert slow.latency == pytest.approx(0.8)
    restore = next(f for f in kerala.faults if f.kind == "restore-backup")
    assert restore.duration == 86400.0


@pytest.mark.parametrize("scale", [0.5, 0.1, 0.02, 0.001])
def test_scale_keeps_a_fraction_with_the_hierarchy_whole(kerala: Scenario, scale: float) -> None:
    small = load_scenario("kerala", scale=scale)
    assert_tree_whole(small)
    stations = small.counts()["station"]
    pinned = {f.target for f in kerala.faults} | {"kerala/wayanad/ps-001"}
    assert stations <= round(482 * scale) + len(pinned)
    assert stations >= max(1, round(482 * scale))
    assert small.levels == kerala.levels
    for role in ("state", "district", "sub-division", "circle"):
        assert small.counts()[role] >= 1, role
    if scale >= 0.1:  # the other leaf offices by the same fraction, rounded
        for role in ("control-room", "forensic-lab", "fingerprint-bureau"):
            assert small.counts()[role] >= 1, role
    # Every fault still names an office of the scaled scenario.
    for fault in small.faults:
        assert fault.target in small
    # Rates do not change with scale.
    station = small.by_role("station")[0]
    assert small.rates(station.node_id) == kerala.rates(station.node_id)


def test_scale_is_deterministic_and_the_seed_chooses(kerala: Scenario) -> None:
    one = load_scenario("kerala", scale=0.1, faults=False)
    two = load_scenario("kerala", scale=0.1, faults=False)
    other = load_scenario("kerala", scale=0.1, faults=False, seed=99)
    assert [o.node_id for o in one.offices] == [o.node_id for o in two.offices]
    assert [o.node_id for o in one.offices] != [o.node_id for o in other.offices]
    assert one.faults == ()


def test_india_scaled_keeps_every_state(india: Scenario) -> None:
    small = load_scenario("india", scale=0.002, faults=False)
    assert small.counts()["state"] == 36
    assert 36 <= small.counts()["station"] <= 36 + 34
    assert_tree_whole(small)


def test_a_subtree_is_a_scenario_of_its_own(kerala: Scenario) -> None:
    state = kerala.subtree_scenario("kerala/scrb")
    assert state.root.node_id == "kerala/scrb" and state.root.parent == ""
    assert len(state.offices) == 835
    assert state.levels == kerala.levels[1:]
    assert_tree_whole(state)
    district = kerala.subtree_scenario("kerala/wayanad/dpo")
    assert district.levels[0] == "district"
    assert [f.kind for f in district.faults] == ["district-cut"]
    assert_tree_whole(district)


def test_offices_picks_the_largest_scale_that_fits() -> None:
    twenty = load_scenario("kerala", offices=20, faults=False)
    assert len(twenty.offices) == 20  # filled up with stations under kept parents
    assert twenty.levels[-1] == "station"
    assert_tree_whole(twenty)
    with pytest.raises(InputError, match="smallest whole hierarchy"):
        load_scenario("india", offices=20)


def test_arrivals_follow_the_rates_and_the_rhythm(kerala: Scenario) -> None:
    day = list(arrivals(kerala, end=86400.0))
    times = [a.time for a in day]
    assert times == sorted(times)
    counts = Counter(a.kind for a in day)
    expected = kerala.work_per_day()
    for kind in WORK_KINDS:
        assert abs(counts[kind] - expected[kind]) < 5 * expected[kind] ** 0.5 + 5, kind
    by_hour = Counter(int(a.time // 3600) for a in day)
    assert by_hour[12] > 3 * by_hour[3]  # midday is busier than the small hours
    # The same window reproduces the same arrivals; a later window starts where it says.
    again = list(arrivals(kerala, start=36000.0, end=39600.0))
    assert again == [a for a in day if 36000.0 <= a.time < 39600.0]


def test_durations_and_splits() -> None:
    assert parse_duration("1d6h30m", "x") == 86400 + 6 * 3600 + 1800
    assert parse_duration("90s", "x") == 90
    assert parse_duration(45, "x") == 45
    assert even_split(482, 19)[:2] == [26, 26] and sum(even_split(482, 19)) == 482
    for bad in ("soon", "-5", "", True, -1):
        with pytest.raises(InputError, match="not a duration"):
            parse_duration(bad, "fault at")


def bad(change: Any) -> str:
    data = kerala_data()
    change(data)
    with pytest.raises(InputError) as info:
        scenario_from_dict(data, where="kerala.toml")
    return str(info.value) + "\n" + "\n".join(info.value.problems)


def test_bad_scenario_files_name_the_problem(tmp_path: Path) -> None:
    def unknown_role(d: dict[str, Any]) -> None:
        d["state"][0]["offices"][0]["role"] = "sheriff"

    assert "role 'sheriff' is not one of" in bad(unknown_role)

    def no_source(d: dict[str, Any]) -> None:
        d["workload"]["station"]["gd_entries"]["source"] = "my-guess"

    assert "[workload.station].gd_entries names source 'my-guess'" in bad(no_source)

    def bad_status(d: dict[str, Any]) -> None:
        d["sources"]["assumption-gd"]["status"] = "probably"

    assert "status 'probably' is not one of verified, unverified, assumption" in bad(bad_status)

    def bad_target(d: dict[str, Any]) -> None:
        d["fault"][0]["target"] = "kerala/nowhere/ps-1"

    assert "target 'kerala/nowhere/ps-1' is not an office" in bad(bad_target)

    def cut_a_station(d: dict[str, Any]) -> None:
        d["fault"][3]["target"] = "station#3"

    assert "is not a district police office" in bad(cut_a_station)

    def no_duration(d: dict[str, Any]) -> None:
        del d["fault"][0]["duration"]

    assert "needs a duration above 0" in bad(no_duration)

    def bad_kind(d: dict[str, Any]) -> None:
        d["fault"][0]["kind"] = "meteor"

    assert "kind 'meteor' is not one of link-down" in bad(bad_kind)

    def empty_district(d: dict[str, Any]) -> None:
        d["state"][0]["district"][10]["stations"] = 0

    assert "district thrissur-city: a district needs at least one station" in bad(empty_district)

    def duplicate(d: dict[str, Any]) -> None:
        d["state"][0]["district"][1]["id"] = "malappuram"

    assert "district malappuram: the id appears twice" in bad(duplicate)

    def top_heavy(d: dict[str, Any]) -> None:
        d["state"][0]["district"][19]["sub_divisions"] = 9

    assert "district railways: 9 sub-divisions for 4 circles (each needs one)" in bad(top_heavy)

    def short_rhythm(d: dict[str, Any]) -> None:
        d["workload"]["hour_weights"] = [1, 2, 3]

    assert "hour_weights must be 24 numbers" in bad(short_rhythm)

    def lossy(d: dict[str, Any]) -> None:
        d["links"]["station"]["loss"] = 1.5

    assert "[links.station]: loss must be below 1" in bad(lossy)

    # Several mistakes: every one listed.
    def two(d: dict[str, Any]) -> None:
        unknown_role(d)
        short_rhythm(d)

    text = bad(two)
    assert "2 problems" in text and "sheriff" in text and "hour_weights" in text

    broken = tmp_path / "broken.toml"
    broken.write_text("[scenario\nname = 'x'")
    with pytest.raises(InputError, match=r"broken\.toml: not valid TOML"):
        load_scenario(broken)
    with pytest.raises(InputError, match=r"no scenario named 'atlantis' \(known: .*kerala"):
        load_scenario("atlantis")
    with pytest.raises(InputError, match="scale must be above 0"):
        load_scenario("kerala", scale=0)
    with pytest.raises(InputError, match="has no office"):
        load_scenario("kerala", scale=0.01).office("kerala/scrb/none")
