"""One keeper per account: the flock lease refuses a second holder (in this process or another), names
the holder, and frees itself when the holder dies, even by SIGKILL."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from keeper.app.lease import (
    AccountLease,
    LeaseHeldError,
    LeaseHolder,
    lock_dir_beside,
    lock_file_for,
)

ACCT = "hyperliquid:0x00000000000000000000000000000000000000aa"

_HOLDER = """
import sys, time
from keeper.app.lease import AccountLease
lease = AccountLease.acquire(sys.argv[1], sys.argv[2], config_path=sys.argv[3])
print("held", flush=True)
time.sleep(120)
"""


def test_acquire_records_the_holder_and_release_frees_it(tmp_path: Path) -> None:
    config = tmp_path / "prod.toml"
    lease = AccountLease.acquire(tmp_path / "leases", ACCT, config_path=config)
    try:
        assert lease.held
        assert lease.path == lock_file_for(tmp_path / "leases", ACCT)
        assert ACCT not in lease.path.name  # a hash of the key: any key is a safe file name
        holder = msgspec.json.decode(lease.path.read_bytes(), type=LeaseHolder)
        assert (holder.account, holder.pid, holder.host, holder.config) == (
            ACCT,
            os.getpid(),
            socket.gethostname(),
            str(config),
        )
        assert holder == lease.holder
    finally:
        lease.release()
    assert not lease.held
    lease.release()  # idempotent
    with AccountLease.acquire(tmp_path / "leases", ACCT) as again:
        assert again.held
    assert not again.held


def test_a_second_lease_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with AccountLease.acquire(tmp_path, ACCT, config_path="a.toml"):
        with pytest.raises(LeaseHeldError) as refused:
            AccountLease.acquire(tmp_path, ACCT)
        message = str(refused.value)
        assert message.startswith(
            f"account {ACCT} is held by pid {os.getpid()} on {socket.gethostname()} since "
        )
        assert message.endswith(f"(config {Path('a.toml').absolute()})")
        assert refused.value.holder is not None
        with AccountLease.acquire(tmp_path, "another-account") as other:  # accounts are independent
            assert other.held
    with AccountLease.acquire(tmp_path, ACCT) as after:
        assert after.held


def test_an_unidentified_holder_is_still_refused(tmp_path: Path) -> None:
    path = lock_file_for(tmp_path, ACCT)
    path.write_text("not a holder record")
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LeaseHeldError, match="held by an unidentified process"):
            AccountLease.acquire(tmp_path, ACCT)
    finally:
        os.close(fd)


def test_another_process_is_refused_and_the_lease_frees_when_the_holder_is_killed(tmp_path: Path) -> None:
    lock_dir = tmp_path / "leases"
    config = tmp_path / "keeper.toml"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLDER), str(lock_dir), ACCT, str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(LeaseHeldError) as refused:
            AccountLease.acquire(lock_dir, ACCT)
        assert f"account {ACCT} is held by pid {proc.pid} on {socket.gethostname()} since " in str(
            refused.value
        )
        assert f"(config {config})" in str(refused.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with AccountLease.acquire(lock_dir, ACCT) as lease:  # the kernel dropped the dead holder's lock
        assert lease.holder.pid == os.getpid()


def test_the_lock_dir_is_beside_the_store(tmp_path: Path) -> None:
    assert lock_dir_beside(tmp_path / "state" / "keeper.sqlite") == tmp_path / "state" / "leases"
