"""Simulator reports: JSON that round-trips, PNGs that are real images, a comparison table that counts."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from keeper.sim import CompareRow, Scenario, SimSeries, SimSummary, compare, parse_scenario, simulate
from keeper.simtools.report import format_comparison_table, write_comparison, write_report

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "keeper" / "sim" / "scenarios"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNGS = ["pnl.png", "inventory.png", "spread_vs_gas.png", "funding.png"]


def short(name: str, duration_s: float = 600.0) -> Scenario:
    scenario = parse_scenario((SCENARIOS / f"{name}.toml").read_text())
    return msgspec.structs.replace(scenario, duration_s=duration_s)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert 5_000 < len(data) < 2_000_000, (path, len(data))


@pytest.mark.parametrize(("name", "venue"), [("calm", "api"), ("gas_spike", "chain")])
def test_write_report_writes_json_and_four_plots(tmp_path: Path, name: str, venue: str) -> None:
    result = simulate(short(name), "keeper")
    assert result.summary.venue == venue
    out = tmp_path / "nested" / name

    paths = write_report(result, out)

    assert [p.name for p in paths] == ["summary.json", "series.json", *PNGS]
    assert all(p.parent == out and p.is_file() for p in paths)
    for png in PNGS:
        assert_png(out / png)
    summary = msgspec.json.decode((out / "summary.json").read_bytes(), type=SimSummary)
    assert summary == result.summary
    assert b"\n  " in (out / "summary.json").read_bytes()  # pretty-printed
    series = msgspec.json.decode((out / "series.json").read_bytes())
    assert set(series) == set(msgspec.structs.asdict(result.series))
    assert len(series["t_s"]) == len(result.series.t_s)


def test_write_report_survives_an_empty_series(tmp_path: Path) -> None:
    result = simulate(short("calm"), "keeper")
    empty = SimSeries(
        t_s=[],
        mid=[],
        position=[],
        pnl=[],
        gas_spent=[],
        funding_paid=[],
        quoted_half_spread_bps=[],
        next_base_fee_gwei=[],
        funding_rate_bps=[],
    )
    paths = write_report(msgspec.structs.replace(result, series=empty), tmp_path)
    assert all(p.is_file() for p in paths)


@pytest.fixture(scope="module")
def rows() -> list[CompareRow]:
    return compare([short("calm"), short("gas_spike")], seeds=(None, 7))


def test_comparison_table_names_every_scenario_and_counts_wins(rows: list[CompareRow]) -> None:
    table = format_comparison_table(rows)
    lines = table.splitlines()

    assert lines[0].startswith("| scenario | seed | keeper sharpe | keeper max_inv |")
    assert lines[0].endswith("| keeper wins |")
    body = [line for line in lines[2:] if line.startswith("|")]
    assert len(body) == len(rows)
    for row, line in zip(rows, body, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == row.scenario
        assert cells[1] == str(row.seed)
        assert cells[-1] == ("yes" if row.keeper_wins else "no")
        assert len(cells) == 2 + 5 * len(row.results) + 1
    assert "calm" in table
    assert "gas_spike" in table
    wins = sum(r.keeper_wins for r in rows)
    assert lines[-1] == f"keeper beats both baselines in {wins} of {len(rows)} rows"


def test_comparison_table_without_a_keeper_column(rows: list[CompareRow]) -> None:
    baselines = [
        CompareRow(
            scenario=r.scenario, seed=r.seed, results={k: v for k, v in r.results.items() if k != "keeper"}
        )
        for r in rows
    ]
    table = format_comparison_table(baselines)
    assert "keeper sharpe" not in table
    assert table.splitlines()[2].endswith("| n/a |")


def test_write_comparison_writes_png_and_json(tmp_path: Path, rows: list[CompareRow]) -> None:
    path = write_comparison(rows, tmp_path / "cmp")

    assert path == tmp_path / "cmp" / "comparison.png"
    assert_png(path)
    raw = (tmp_path / "cmp" / "comparison.json").read_bytes()
    assert msgspec.json.decode(raw, type=list[CompareRow]) == rows
    assert [r["keeper_wins"] for r in msgspec.json.decode(raw)] == [r.keeper_wins for r in rows]
