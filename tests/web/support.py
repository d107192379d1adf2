"""What the in-process web tests share: a hand-moved clock for the accounts, cheap argon2
settings, a station with its web app (`Node`), the seeded station the citizen, dashboard and API
tests read (`make_node`), the CSRF token of a page, and signing an officer in as a browser does.

The apps run with `ROOMY` rate limits unless a test gives its own: the tests of other features
post from one client far more often than a citizen would (the limits have tests of their own,
tests/web/test_throttle.py)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from starlette.exceptions import StarletteDeprecationWarning

from ledger.log import now_ms
from node.config import DataDir, Limits
from node.demo.seed import seed_station
from node.records.validation import IST, utc_ms
from node.station import registers
from node.station.core import Station
from node.web.app import create_app
from node.web.auth import Accounts, Officer
from node.web.deps import WebContext
from node.web.i18n import Translator
from protos import records_pb2
from tests.node.support import station_clock_at

with warnings.catch_warnings():
    # Starlette 1.x asks for `httpx2` under its TestClient; httpx (a dev dependency) works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient as TestClient  # re-exported for the tests

START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC, a step boundary
ORIGIN = "cctns.in/kerala/ernakulam-city/ps-kalamassery"
NODE_ID = ORIGIN.split("/", 1)[1]
PASSWORD = "correct horse battery"
# Cheap argon2id settings: the tests check the flow, not the cost parameters.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_TOKENS = re.compile(r'(name="csrf_token" value="|<meta name="csrf-token" content=")[^"]+"')

OFFICER = "PEN100001"
THEFT_MOBILE = "9847012345"
THEFT_REG = "KL-07-BQ-4521"
THEFT_ENGINE = "JF50E7123456"
THEFT_CHASSIS = "ME4JF504KH7001234"
SENSITIVE_MOBILE = "9447011111"
SENSITIVE_REG = "KL-07-CD-9876"
VICTIM = "Anitha Kumari"
INFORMANT = "Lakshmi Devi"
SENSITIVE_FACTS = "The victim Anitha Kumari was assaulted near the Kalamassery railway gate."
ZERO_MOBILE = "9633022222"
HOUR = 60 * 60 * 1000
ROOMY = Limits(**{name: "100000/minute" for name in Limits.__dataclass_fields__})


class Clock:
    """The accounts' clock, moved by hand so that each login uses a fresh TOTP step. It starts
    at `start` (Unix ms), else at the start of the current 30-second step."""

    def __init__(self, start: int | None = None) -> None:
        self.now = now_ms() // 30_000 * 30_000 if start is None else start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@dataclass
class Node:
    """A station and its web app, in this process, with accounts on a hand-moved clock."""

    station: Station
    accounts: Accounts
    clock: Clock
    app: Any
    theft: str = ""  # FIR numbers registered by `make_node` for the tests
    sensitive: str = ""
    zero: str = ""

    def close(self) -> None:
        self.accounts.close()
        self.station.close()


def add_officer(
    store: Accounts, clock: Clock, officer_id: str = "PEN123456", confirm: bool = True
) -> tuple[Officer, pyotp.TOTP]:
    """An SHO of Kalamassery in `store`; unless `confirm` is False, with the TOTP secret
    already confirmed (the step after the confirmation's is the next one free)."""
    officer, secret = store.create_officer(
        officer_id, "Anitha K", "F", "sho", NODE_ID, "", PASSWORD
    )
    totp = pyotp.TOTP(secret)
    if confirm:
        # Confirming during setup spends the code of this step; later logins use the next one.
        pending = store.begin_login(officer_id, PASSWORD)
        store.logout(store.confirm_totp(pending.token, code(totp, clock.now)).id)
        clock.advance(30_000)
    return officer, totp


def code(totp: pyotp.TOTP, at_ms: int) -> str:
    """The TOTP code of the step holding `at_ms`."""
    return totp.at(at_ms // 1000)


def open_kalamassery(tmp: Path) -> Station:
    """A new, empty Kalamassery station in `tmp/node`."""
    data_dir = DataDir(tmp / "node")
    data_dir.create(origin=ORIGIN, district="Ernakulam City", station="Kalamassery")
    return Station.open(data_dir)


def web_node(
    tmp: Path,
    station: Station,
    *,
    translator: Translator | None = None,
    data_dir: Path | None = None,
    limits: Limits = ROOMY,
    offices_above: tuple[str, ...] | None = None,
) -> Node:
    """`station`'s web app, with its own accounts (in `tmp`) on a hand-moved clock;
    `offices_above`: the chain of offices the station sits under, as its directory would say."""
    clock = Clock()
    accounts = Accounts(f"sqlite:///{tmp / 'accounts.sqlite3'}", clock=clock, hasher=FAST)
    context = WebContext(station=station, accounts=accounts, data_dir=data_dir, limits=limits)
    if offices_above is not None:
        context.offices_above = lambda: offices_above
    if translator is not None:
        context.translator = translator
    return Node(station, accounts, clock, create_app(context))


def person(name: str, role: int, **fields: Any) -> records_pb2.PersonInCase:
    return records_pb2.PersonInCase(person=records_pb2.Person(name=name, **fields), role=role)  # type: ignore[arg-type]


def fir_record(
    sections: list[tuple[str, str]],
    persons: list[records_pb2.PersonInCase],
    facts: str,
    property_items: list[records_pb2.PropertyItem] = (),  # type: ignore[assignment]
    **fields: Any,
) -> records_pb2.Fir:
    occurred = datetime.now(IST) - timedelta(hours=5)
    return records_pb2.Fir(
        occurrence_from_ms=utc_ms(occurred),
        place_of_occurrence=records_pb2.Place(description="Near HMT junction bus stop"),
        sections=[records_pb2.ActSection(act=act, section=sec) for act, sec in sections],
        brief_facts=facts,
        persons=persons,
        property=property_items,
        **fields,
    )


def vehicle_item(
    registration: str, status: int, engine: str = "", chassis: str = ""
) -> records_pb2.PropertyItem:
    return records_pb2.PropertyItem(
        category="vehicle",
        description="grey scooter",
        status=status,  # type: ignore[arg-type]
        value_inr=65000,
        vehicle=records_pb2.Vehicle(
            registration=registration,
            engine_number=engine,
            chassis_number=chassis,
            make="Honda",
            model="Activa 6G",
            colour="Grey",
            vehicle_type="scooter",
        ),
    )


def make_node(tmp: Path) -> Node:
    """Kalamassery with 1,200 seeded records (about 40 FIRs among GD entries, petitions and
    NCRs) and three FIRs of its own: a theft (recovered
    scooter, unclaimed phone), a BNS 64 FIR the law withholds, and a Zero FIR for Aluva."""
    station = open_kalamassery(tmp)
    seed_station(station, 1200, seed=11, days=400, show_progress=False)
    theft = registers.register_fir(station,
        OFFICER,
        fir_record(
            [("BNS", "303(2)")],
            [
                person("Rajesh Kumar", records_pb2.COMPLAINANT, age=41, sex="M",
                       mobile=THEFT_MOBILE, address="Kalamassery"),
                records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True),
            ],
            "The complainant's scooter parked near the bus stop was stolen; later recovered.",
            [
                vehicle_item(THEFT_REG, records_pb2.RECOVERED, THEFT_ENGINE, THEFT_CHASSIS),
                records_pb2.PropertyItem(
                    category="mobile phone",
                    description="Redmi Note 12 of Rajesh Kumar, black",
                    status=records_pb2.UNCLAIMED,
                    identifiers="IMEI 356789012345678",
                ),
            ],
        ),
    )  # fmt: skip
    sensitive = registers.register_fir(station,
        OFFICER,
        fir_record(
            [("BNS", "64(1)")],
            [
                person(INFORMANT, records_pb2.INFORMANT, age=45, sex="F",
                       mobile=SENSITIVE_MOBILE, address="Kalamassery"),
                person(VICTIM, records_pb2.VICTIM, age=24, sex="F", address="Kalamassery"),
                records_pb2.PersonInCase(role=records_pb2.ACCUSED, unknown=True),
            ],
            SENSITIVE_FACTS,
            [vehicle_item(SENSITIVE_REG, records_pb2.UNCLAIMED, "SENS1234567", "SENSCH998877")],
            recording=records_pb2.InformationRecording(recorded_by_sex="F"),
        ),
    )  # fmt: skip
    zero = registers.register_fir(
        station,
        OFFICER,
        fir_record(
            [("BNS", "303(2)")],
            [person("Joseph Mathew", records_pb2.COMPLAINANT, sex="M", mobile=ZERO_MOBILE)],
            "A mobile phone was stolen on the bus from Aluva.",
            zero_fir=True,
            jurisdiction_station="Aluva",
        ),
    )
    node = web_node(tmp, station, translator=Translator())
    node.theft, node.sensitive, node.zero = theft.ref, sensitive.ref, zero.ref
    return node


def staff_node(tmp: Path) -> Node:
    """Kalamassery with 600 seeded records of the last 60 days, for the staff pages."""
    station = open_kalamassery(tmp)
    seed_station(station, 600, seed=7, days=60, show_progress=False)
    return web_node(tmp, station)


def receive_petition(
    station: Station, category: str, *, age_ms: int = HOUR, subject: str = ""
) -> str:
    """A petition of `category` received `age_ms` ago (by PEN400009); its receipt number."""
    petition = records_pb2.Petition(
        petitioner=records_pb2.Person(name="Leela Menon", age=44, sex="F", address="Edappally"),
        subject=subject or f"A {category} complaint",
        details="She left for college at 8 and has not come back.",
        category=category,
    )
    with station_clock_at(station, now_ms() - age_ms):
        return registers.receive_petition(station, "PEN400009", petition).ref


def csrf(html: str) -> str:
    """The CSRF token a page carries (the meta tag every page has)."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match[1]


def without_tokens(html: str) -> str:
    """A page without its CSRF tokens (they differ from one answer to the next)."""
    return _TOKENS.sub(r"\1-", html)


def post_form(
    client: TestClient, path: str, data: dict[str, str], *, page: str | None = None
) -> Any:
    """Posts a form the way a browser does: the page first (`page`, else the form's own path),
    then the form with the page's CSRF token."""
    token = csrf(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def theft_form(**overrides: str) -> dict[str, str]:
    """The FIR form filled in for a scooter stolen three hours ago (`overrides` change fields)."""
    occurred = datetime.now(IST) - timedelta(hours=3)
    form = {
        "occurrence_from": _local(occurred),
        "occurrence_to": _local(occurred + timedelta(minutes=30)),
        "place": "Near HMT junction bus stop",
        "section_0": "BNS 303(2)",
        "information_type": "oral",
        "complainant_name": "Rajesh Kumar",
        "complainant_relation": "S/o",
        "complainant_relative_name": "Krishnan",
        "complainant_age": "41",
        "complainant_sex": "M",
        "complainant_address": "Kalamassery",
        "complainant_mobile": "9447000000",
        "accused_0_unknown": "on",
        "witness_0_name": "Mini Joseph",
        "witness_0_sex": "F",
        "property_0_category": "vehicle",
        "property_0_description": "Honda Activa, grey",
        "property_0_status": "stolen",
        "property_0_value": "65000",
        "property_0_registration": "kl 7 bq 4521",
        "brief_facts": "The complainant's scooter parked near the bus stop was stolen.",
    }
    form.update(overrides)
    return form


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def sign_in(
    accounts: Accounts,
    clock: Clock,
    app: Any,
    officer_id: str,
    role: str,
    *,
    name: str = "",
    sex: str = "M",
    station_node_id: str = NODE_ID,
    jurisdiction: str = "",
) -> TestClient:
    """A client signed in as a new officer: password, then the authenticator code."""
    _, secret = accounts.create_officer(
        officer_id,
        name or f"Officer {officer_id}",
        sex,
        role,
        station_node_id,
        jurisdiction,
        PASSWORD,
    )
    totp = pyotp.TOTP(secret)
    # First-time setup spends this step's code; the login below uses the next step's.
    pending = accounts.begin_login(officer_id, PASSWORD)
    accounts.logout(accounts.confirm_totp(pending.token, totp.at(clock() // 1000)).id)
    clock.advance(30_000)
    client = TestClient(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"officer_id": officer_id, "password": PASSWORD, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/login/totp")
    page = client.get("/login/totp")
    response = client.post(
        "/login/totp",
        data={"code": totp.at(clock() // 1000), "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def login(
    node: Node,
    officer_id: str,
    role: str,
    *,
    name: str = "",
    sex: str = "M",
    station_node_id: str = NODE_ID,
    jurisdiction: str = "",
) -> TestClient:
    """A client signed in on `node` as a new officer: password, then the authenticator code."""
    return sign_in(
        node.accounts,
        node.clock,
        node.app,
        officer_id,
        role,
        name=name,
        sex=sex,
        station_node_id=station_node_id,
        jurisdiction=jurisdiction,
    )


def walk_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every endpoint, through included routers (FastAPI 0.16x keeps an
    included router as one route holding the original router, older versions copy its routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods or ())
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            inner = prefix + str(getattr(context, "prefix", "") or "")
            yield from walk_routes(list(route.original_router.routes), inner)
