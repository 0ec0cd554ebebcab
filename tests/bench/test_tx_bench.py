"""The tx-throughput benchmark runs end to end and checks its own no-gap rule (figures are not asserted)."""

from __future__ import annotations

import pytest

from keeper.bench.tx_throughput import run_bench


@pytest.mark.chain
@pytest.mark.slow
def test_tx_bench_reports_rates_for_us_and_the_peer() -> None:
    result = run_bench(txs=60, peer_txs=20)
    assert set(result) == {"tx_count", "tx_per_s", "tx_per_s_gas_given", "web3_tx_per_s", "tx_over_web3"}
    assert all(value > 0 for value in result.values())


def test_tx_bench_rejects_empty_runs() -> None:
    with pytest.raises(ValueError, match="txs"):
        run_bench(txs=0)
