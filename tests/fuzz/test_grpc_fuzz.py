"""Property-based fuzzing of every method of the peer service over a real gRPC server on loopback:
requests generated from the protobuf descriptors (every field, odd strings, integers at and past
their range, nested and repeated messages) and raw bytes that are no message at all. Every answer
is a status the boundary means (`federation/status.py`), never INTERNAL or UNKNOWN, and the
server keeps serving. The caller's identity is handed to the servicer by the test's
`authenticate` (the TLS layer that does it in production is tested in tests/federation/); the
node behind it is a real station (RocksDB, SQLite). `CCTNS_FUZZ_EXAMPLES` sets the examples."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.grpc_server import _METHODS, SERVICE_NAME, PeerServicer, start_server
from federation.interfaces import PeerIdentity
from federation.service import PeerService
from protos import federation_pb2
from tests.federation.cluster import Member, open_member

EXAMPLES = int(os.environ.get("CCTNS_FUZZ_EXAMPLES", "25"))
# What the boundary answers on purpose; INTERNAL and UNKNOWN would be a crash in a handler.
MEANT = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAVAILABLE,
}
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def field_values(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind in _INT_RANGES:
        low, high = _INT_RANGES[kind]
        return st.one_of(
            st.integers(min_value=low, max_value=high),
            st.sampled_from([low, high, 0, 1, -1 if low < 0 else 2]),
        )
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return st.floats(allow_nan=True, width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind == FieldDescriptor.TYPE_STRING:
        return st.one_of(
            st.text(max_size=200),
            st.sampled_from(["", "FIR No. 1/2026", "GD 2026-01-01/1", "\x00", "ZERO FIR 1/2026"]),
            st.integers(min_value=1_000, max_value=100_000).map(lambda n: "ക" * n),
        )
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=2_000)
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return st.sampled_from([v.number for v in field.enum_type.values] + [9999])
    if kind == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        return messages(field.message_type, depth + 1)
    raise AssertionError(f"field type {kind} of {field.full_name}")


def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Field values for a message of `descriptor` (nested up to a few levels)."""
    if depth > 3:
        return st.just({})
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        values = field_values(field, depth)
        if field.is_repeated:
            values = st.lists(values, max_size=4)
        optional[field.name] = values
    return st.fixed_dictionaries({}, optional=optional)


def build(message_type: type[Message], values: dict[str, Any]) -> Message:
    message = message_type()
    fill(message, values)
    return message


def fill(message: Message, values: dict[str, Any]) -> None:
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                for item in value:
                    fill(getattr(message, name).add(), item)
            else:
                fill(getattr(message, name), value)
        elif field.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Member, str]]:
    """A seeded station serving the peer service on loopback, asked by its district."""
    root: Path = tmp_path_factory.mktemp("fuzz-grpc")
    member = open_member(root, "ps-kalamassery", records=60)
    asker = PeerIdentity(
        node_id="kerala/ernakulam-city",
        role="district",
        parent="kerala",
        ledger_key=bytes(32),
    )
    servicer = PeerServicer(PeerService(member.node), lambda context: asker)
    server, port = start_server(servicer, "127.0.0.1:0", credentials=None)
    try:
        yield member, f"127.0.0.1:{port}"
    finally:
        server.stop(grace=1.0).wait()
        member.station.close()


def _call(channel: grpc.Channel, name: str, payload: bytes, streaming: bool) -> grpc.StatusCode:
    path = f"/{SERVICE_NAME}/{name}"
    try:
        if streaming:
            call = channel.unary_stream(path)
            for _ in call(payload, timeout=30):
                pass
        else:
            channel.unary_unary(path)(payload, timeout=30)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()  # type: ignore[attr-defined]
        return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", _METHODS, ids=lambda m: m.name)
def test_grpc_fuzz_generated_requests_get_meant_statuses(
    method: Any, peer: tuple[Member, str]
) -> None:
    member, address = peer
    seen: set[grpc.StatusCode] = set()
    with grpc.insecure_channel(address) as channel:

        @given(values=messages(method.request.DESCRIPTOR))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def ask(values: dict[str, Any]) -> None:
            request = build(method.request, values)
            code = _call(channel, method.name, request.SerializeToString(), method.streaming)
            seen.add(code)
            assert code in MEANT, f"{method.name}: {code} for {request}"

        ask()
        assert seen, method.name
        # Still serving: the own checkpoint answers.
        response = channel.unary_unary(f"/{SERVICE_NAME}/GetCheckpoint")(
            federation_pb2.CheckpointRequest().SerializeToString(), timeout=30
        )
        assert federation_pb2.CheckpointResponse.FromString(response).note
    assert member.station.ledger.size() > 0


@pytest.mark.parametrize("method", _METHODS, ids=lambda m: m.name)
def test_grpc_fuzz_raw_bytes_are_invalid_arguments(method: Any, peer: tuple[Member, str]) -> None:
    _, address = peer
    with grpc.insecure_channel(address) as channel:

        @given(payload=st.binary(max_size=4_000))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def ask(payload: bytes) -> None:
            code = _call(channel, method.name, payload, method.streaming)
            assert code in MEANT, f"{method.name}: {code} for {payload!r}"

        ask()
