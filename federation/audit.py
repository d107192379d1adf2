"""What an audited read records: who asked (the node and the officer), for which case and purpose,
what was asked and which records were returned, as one `AuditEntry` for the node's own log.

Built here once for every read that is audited: another office's FetchRecord, Search and
HitNoHit (federation/service.py) and an officer's own reads through the node's JSON API
(node/web/pages/api.py). The node appends the entry itself (`Station.append_system`), before the
answer leaves.

Must never: build an entry without the asking officer and case (`check_context` refuses them).
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from ledger.errors import InputError
from protos import federation_pb2, ledger_pb2

__all__ = ["CONTROL", "MAX_CONTEXT_FIELD", "audit_entry", "check_context", "describe_search"]

MAX_CONTEXT_FIELD: Final = 200
CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_context(context: federation_pb2.QueryContext) -> federation_pb2.QueryContext:
    """Who asks and for which case: both are required, as the audit entry records them.
    Returns the context trimmed; InputError lists every problem."""
    problems: list[str] = []
    for name, what in (("officer_id", "officer id"), ("case_ref", "case reference")):
        value: str = getattr(context, name)
        if not value.strip():
            problems.append(f"the query context needs the asking {what}")
    for name in ("officer_id", "purpose", "case_ref"):
        value = getattr(context, name)
        if len(value) > MAX_CONTEXT_FIELD:
            problems.append(f"the query context's {name} is too long")
        elif CONTROL.search(value):
            problems.append(f"the query context's {name} contains a control character")
    if problems:
        raise InputError("; ".join(problems), problems)
    return federation_pb2.QueryContext(
        officer_id=context.officer_id.strip(),
        purpose=context.purpose.strip(),
        case_ref=context.case_ref.strip(),
    )


def describe_search(request: federation_pb2.SearchRequest) -> str:
    """A search as its audit entry names it: the query, and the age range when given."""
    text = request.query
    if request.probe:
        # The probe is named, never kept: its digest lets an auditor match it to a copy.
        digest = hashlib.sha256(request.probe).hexdigest()
        text = f"{text} (probe sha256:{digest})".strip()
    if request.age_min or request.age_max:
        text += f" (age {request.age_min or ''}-{request.age_max or ''})"
    return text


def audit_entry(
    asker_node_id: str,
    context: federation_pb2.QueryContext,
    kind: str,
    query: str,
    refs: list[str],
    *,
    full_record: bool,
) -> ledger_pb2.AuditEntry:
    """The entry of one read: `kind` is "fetch", "search:<kind>" or "hit:<identifier type>";
    `refs` the records returned; `full_record` whether whole records left (not only yes/no)."""
    return ledger_pb2.AuditEntry(
        asker_node_id=asker_node_id,
        asker_officer_id=context.officer_id,
        purpose=context.purpose,
        case_ref=context.case_ref,
        query_kind=kind,
        query=query,
        returned_refs=refs,
        full_record=full_record,
    )
