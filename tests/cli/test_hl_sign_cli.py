"""`keeper hl sign` as a process: every signing vector answered; bad lines named, the rest still answered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[1] / "data" / "hyperliquid_signing.json"
REQUEST_KEYS = ("key", "action", "nonce", "vaultAddress", "expiresAfter", "isMainnet")


def l1_vectors() -> list[dict[str, object]]:
    return list(json.loads(VECTORS.read_text())["l1_actions"])


def run_sign(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keeper", "hl", "sign"],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_l1_vector_through_the_cli() -> None:
    vectors = l1_vectors()
    assert len(vectors) >= 40
    lines = "".join(json.dumps({k: v[k] for k in REQUEST_KEYS if k in v}) + "\n" for v in vectors)
    result = run_sign(lines)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(replies) == len(vectors)
    for vector, reply in zip(vectors, replies, strict=True):
        sig = vector["signature"]
        assert isinstance(sig, dict)
        assert int(reply["r"], 16) == int(sig["r"], 16), vector["name"]
        assert int(reply["s"], 16) == int(sig["s"], 16), vector["name"]
        assert reply["v"] == sig["v"], vector["name"]
        assert len(reply["r"]) == len(reply["s"]) == 66
        if vector.get("connectionId"):
            assert reply["connectionId"] == vector["connectionId"]


def test_bad_lines_are_named_and_the_rest_answered() -> None:
    good = l1_vectors()[0]
    good_line = json.dumps({k: good[k] for k in REQUEST_KEYS if k in good})
    bad_key = json.dumps({**json.loads(good_line), "key": "0x1234"})
    stdin = "\n".join([good_line, "{not json", good_line, bad_key, "", good_line]) + "\n"
    result = run_sign(stdin)
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 3
    errors = result.stderr.splitlines()
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 4"]
    assert "0x1234" not in result.stderr  # key material is never echoed
