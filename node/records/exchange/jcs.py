"""RFC 8785 JSON Canonicalization Scheme (JCS), for the values the exchange format carries.

An inbound message is signed over its canonical JSON (docs/exchange.md), which any sender can
reproduce with an RFC 8785 library: object members sorted by their names' UTF-16 code units, no
insignificant whitespace, strings escaped as ECMAScript's JSON.stringify escapes them (only `"`,
`\\`, and control characters; everything else as UTF-8). Numbers are restricted to integers of
at most 2^53 - 1 in magnitude (ECMAScript's safe integers print as plain digits): the exchange
schemas have no fractional numbers, and a float's ECMAScript rendering is where JCS libraries
disagree most often. A value outside this subset is refused (InputError), never guessed.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.errors import InputError

MAX_SAFE_INTEGER = 2**53 - 1


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value` (dicts, lists, str, int, bool, None)."""
    parts: list[str] = []
    _write(value, parts, "$")
    return "".join(parts).encode("utf-8")


def _string(text: str, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}: a string with a lone surrogate has no canonical form") from None
    # json.dumps escapes exactly what JSON.stringify does (", \, \b \f \n \r \t, other controls
    # as lower-case \u00xx) when ensure_ascii is off.
    return json.dumps(text, ensure_ascii=False)


def _write(value: Any, out: list[str], where: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InputError(f"{where}: integer beyond 2^53 - 1 has no canonical form here")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value, where))
    elif isinstance(value, list | tuple):
        out.append("[")
        for n, item in enumerate(value):
            if n:
                out.append(",")
            _write(item, out, f"{where}[{n}]")
        out.append("]")
    elif isinstance(value, dict):
        names = list(value)
        if not all(isinstance(name, str) for name in names):
            raise InputError(f"{where}: object member names must be strings")
        out.append("{")
        for n, name in enumerate(sorted(names, key=lambda k: k.encode("utf-16-be"))):
            if n:
                out.append(",")
            out.append(_string(name, where))
            out.append(":")
            _write(value[name], out, f"{where}.{name}")
        out.append("}")
    else:
        raise InputError(f"{where}: {type(value).__name__} has no canonical form here")
