"""Sealed identities, the pure part: salted commitments, verification of a disclosure, redaction."""

from __future__ import annotations

import hashlib

import pytest

from ledger.errors import VerificationError
from node.records.sealing import (
    COMMITMENT_CONTEXT,
    canonical_identity,
    commit_identity,
    redact,
    restore,
    seal_person,
    verify_disclosure,
)
from tests.node.support import VICTIM, VICTIM_FATHER, victim


def test_sealed_commitment_is_salted_hash_of_the_withheld_fields() -> None:
    person = victim()
    person.person_id = "P-9-2"
    person.juvenile = True
    salt = bytes(range(32))
    item = seal_person(person, salt=salt)

    expected = hashlib.sha256(COMMITMENT_CONTEXT + salt + canonical_identity(victim())).digest()
    assert item.commitment == expected == person.identity_commitment
    # The entry keeps id, sex and the juvenile flag; the identity is gone.
    assert (person.person_id, person.sex, person.juvenile) == ("P-9-2", "F", True)
    assert not person.name and not person.mobile and not person.age and not person.relation
    verify_disclosure(item.commitment, victim(), salt)


def test_sealed_same_identity_different_salt_gives_different_commitments() -> None:
    assert seal_person(victim()).commitment != seal_person(victim()).commitment


def test_sealed_wrong_value_or_salt_fails_verification() -> None:
    item = seal_person(victim())
    wrong = victim()
    wrong.name = "Sreelekha Raveendran"
    with pytest.raises(VerificationError):
        verify_disclosure(item.commitment, wrong, item.salt)
    with pytest.raises(VerificationError):
        verify_disclosure(item.commitment, item.identity, bytes(32))
    with pytest.raises(VerificationError):
        verify_disclosure(item.commitment, item.identity, item.salt[:16])
    with pytest.raises(VerificationError):
        verify_disclosure(item.commitment[:16], item.identity, item.salt)
    assert commit_identity(item.identity, item.salt) == item.commitment


def test_sealed_redaction_round_trips_in_local_view() -> None:
    item = seal_person(victim())
    text = f"{VICTIM} (daughter of {VICTIM_FATHER}) told that {VICTIM.upper()} was alone."
    redacted = redact(text, [item])
    assert VICTIM.lower() not in redacted.lower() and VICTIM_FATHER not in redacted
    assert restore(redacted, [item]) == (
        f"{VICTIM} (daughter of {VICTIM_FATHER}) told that {VICTIM} was alone."
    )
