"""`cctns sim`: runs a scenario and writes its report as HTML with charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.cli import main


def test_sim_cli_writes_the_html_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tmp_path / "report" / "kerala.html"
    code = main(
        [
            "sim",
            "kerala",
            "--days",
            "0.1",
            "--scale",
            "0.02",
            "--seed",
            "4",
            "--quiet",
            "--html",
            str(html),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "records lost: 0" in out and "every invariant holds" in out
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "Simulation: kerala" in page


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--days", "-1", "must be above 0"),
        ("--days", "nan", "must be above 0"),
        ("--search-sample", "2", "must be at most 1"),
        ("--offices", "0", "must be at least 1"),
    ],
)
def test_sim_cli_refuses_out_of_range_options(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sim", "kerala", option, value, "--quiet"])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err
