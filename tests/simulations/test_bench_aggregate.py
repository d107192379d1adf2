"""The aggregate-index benchmark (simulations/bench_aggregate.py) run tiny on real PostgreSQL:
it ingests, copies the same rows as its baseline, times the tables, reports and cleans up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from simulations import bench_aggregate


@pytest.mark.postgres
def test_bench_aggregate_runs_small(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = pg_url.split("?", 1)[0]
    engine = sa.create_engine(base)
    out = tmp_path / "aggregate.json"
    code = bench_aggregate.main(
        ["--url", base, "--offices", "4", "--records", "300", "--templates", "1",
         "--state-firs", "50", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    results = json.loads(out.read_text())
    assert results["entries"] > 4 * 300 and results["rows"] > results["entries"]
    assert results["state_firs"] >= 50
    assert results["ingest_over_copy"] > 0 and results["crime_table_s"] > 0
    assert "ingest / plain COPY" in capsys.readouterr().out
    with engine.connect() as conn:
        left = conn.execute(
            sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
            {"prefix": bench_aggregate.SCHEMA_PREFIX + "%"},
        ).all()
    engine.dispose()
    assert left == []  # its schemas are gone (other tests' and benches' are not its business)
