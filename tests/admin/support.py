"""What the command-line tests share."""

from __future__ import annotations

import pytest

from admin.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`cctns *argv` in this process: the exit code, then stdout and stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
