"""What the case page shows of a transfer of investigation and of altered sections, and the
forms open to the officer (`node.station.case_transfer`): used by the case page
(`node.web.pages.cases`) and by the transfer forms' own page when a form is refused
(`node.web.pages.transfers`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import Request

from node.index import casework as casework_index
from node.index import transfers as moved
from node.station import case_transfer
from node.web import forms
from node.web.deps import station, station_facts
from node.web.rules import Officer, allowed

# Who records what (node.web.rules): the transfer, on a superior officer's order, as the Zero
# FIR's hand-over ("fir.transfer_zero": the SHO); an alteration of sections, reported by the
# investigating officer, as the final report ("case.chargesheet": the IO, the SHO, supervisors).
TRANSFER_ACTION = "fir.transfer_zero"
ALTER_ACTION = "case.chargesheet"
TRANSFER_COMMAND = "cctns case transfer"


@dataclass(frozen=True, slots=True)
class TransferState:
    fir_number: str
    transfer: moved.TransferOut | None
    transferred_day: str
    fir_sections: list[str]
    sections_now: list[str]
    alterations: list[moved.Alteration]
    can_transfer: bool
    can_alter: bool
    # Transferred, but the unit's take-over not recorded here yet (it could not be reached):
    # the same order may be sent again.
    can_resend: bool
    today: str
    form: str = ""  # the form `problems` and `values` belong to: "transfer", "alter"
    problems: list[str] = field(default_factory=list)
    values: Mapping[str, str] = field(default_factory=dict)
    command: str = ""  # the command line to run on a node with no federation
    message: str = ""  # what the receiving unit answered
    # A case this unit took over from another station (its case page is the FIR as received
    # and the unit's own investigation): from whom, on which order.
    taken_over: moved.TakenOver | None = None

    @property
    def altered(self) -> bool:
        return self.fir_sections != self.sections_now


def _cited(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{act} {section}" for act, section in pairs]


def transfer_state(
    request: Request,
    officer: Officer,
    fir_number: str,
    *,
    form: str = "",
    problems: list[str] | None = None,
    values: Mapping[str, str] | None = None,
    command: str = "",
    message: str = "",
) -> TransferState:
    node = station(request)
    state = case_transfer.case_state(node, fir_number)
    facts = station_facts(request, casework_index.current_io(node.index, fir_number))
    sent = state["transfer"]
    took = taken_over(request, fir_number)
    return TransferState(
        fir_number=fir_number,
        transfer=sent,
        transferred_day=state["transferred_day"],
        fir_sections=_cited(state["fir_sections"]),
        sections_now=_cited(state["sections_now"]),
        alterations=state["alterations"],
        # A case taken over is not transferred on (not modelled: docs/investigation.md).
        can_transfer=sent is None
        and took is None
        and allowed(officer, TRANSFER_ACTION, case=facts),
        can_alter=sent is None and allowed(officer, ALTER_ACTION, case=facts),
        can_resend=sent is not None
        and not sent.accepted
        and allowed(officer, TRANSFER_ACTION, case=facts),
        today=forms.today(),
        form=form,
        problems=list(problems or []),
        values=dict(values or {}),
        command=command,
        message=message,
        taken_over=took,
    )


def taken_over(request: Request, ref: str) -> moved.TakenOver | None:
    """The case this unit took over that `ref` names by its key ("FIR No. 12/2026 of
    kerala/ernakulam-city/ps-kalamassery"), or None."""
    return moved.taken_over_case(station(request).index, ref)


def transferred(request: Request, fir_number: str) -> bool:
    """Whether the case's investigation was transferred out of this station."""
    return moved.transfer_out(station(request).index, fir_number) is not None


__all__ = ["TRANSFER_COMMAND", "TransferState", "taken_over", "transfer_state", "transferred"]
