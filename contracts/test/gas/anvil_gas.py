#!/usr/bin/env python3
"""Real-transaction gas of PerpExchange hot paths on a local anvil chain.

Deploys token, oracle and the three exchange components from forge's out/ artifacts (run `forge build`
first), replays the same steady-state scenario as contracts/test/Gas.t.sol and prints each measured
transaction's receipt gasUsed (21,000 base + calldata + execution, after refunds). Standard library only;
talks to anvil through `cast` (unlocked dev accounts, no keys involved).

    python3 contracts/test/gas/anvil_gas.py [--port 8599]
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.join(ROOT, ".tools", "bin")
PORT = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 8599
RPC = f"http://127.0.0.1:{PORT}"

P = 50_000 * 10**8
TICK = 10**7
SZ = 10**7  # 0.1 BTC
BUY, SELL = 0, 1


def cast(*args):
    out = subprocess.run([os.path.join(BIN, "cast"), *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"cast {' '.join(map(str, args))}: {out.stderr.strip()}")
    return out.stdout.strip()


def send(frm, to, sig, *args):
    receipt = json.loads(cast("send", "--rpc-url", RPC, "--unlocked", "--from", frm, to, sig, *args, "--json"))
    if int(receipt["status"], 16) != 1:
        raise RuntimeError(f"reverted: {sig} {args}")
    return receipt


def gas_of(receipt):
    return int(receipt["gasUsed"], 16)


def deploy(frm, name, ctor_sig=None, *args):
    with open(os.path.join(ROOT, "out", f"{name}.sol", f"{name}.json")) as f:
        code = json.load(f)["bytecode"]["object"]
    data = code + (cast("abi-encode", ctor_sig, *args)[2:] if ctor_sig else "")
    receipt = json.loads(cast("send", "--rpc-url", RPC, "--unlocked", "--from", frm, "--create", data, "--json"))
    return receipt["contractAddress"]


def now():
    return int(cast("block", "latest", "--field", "timestamp", "--rpc-url", RPC))


def main():
    anvil = subprocess.Popen([os.path.join(BIN, "anvil"), "--port", str(PORT), "--silent"])
    try:
        for _ in range(50):
            try:
                cast("chain-id", "--rpc-url", RPC)
                break
            except RuntimeError:
                time.sleep(0.2)
        run()
    finally:
        anvil.terminate()
        anvil.wait()


def run():
    admin, alice, bob, carol, dave, lev = json.loads(cast("rpc", "eth_accounts", "--rpc-url", RPC))[:6]
    usd = deploy(admin, "USDToken", "constructor(bool,address,uint256)", "true", admin, 0)
    oracle = deploy(admin, "PushOracle", "constructor(address)", admin)
    views = deploy(admin, "PerpExchangeViews", "constructor(address,address,address)", admin, usd, oracle)
    module = deploy(admin, "PerpExchangeModule", "constructor(address,address,address,address)", admin, usd, oracle, views)
    ex = deploy(admin, "PerpExchange", "constructor(address,address,address,address)", admin, usd, oracle, module)
    send(admin, oracle, "setUpdater(address,bool)", admin, "true")
    rnd = [0]

    def price(feed, p):
        rnd[0] += 1
        send(admin, oracle, "postPrice(uint256,int256,uint256,uint80)", feed, p, now(), rnd[0])

    price(1, P)
    price(2, 3_000 * 10**8)
    market = "(0x4254432d504552500000000000000000,1,120,10000000,100000,10000000,100000000000000000,50000000000000000,-100000000000000,500000000000000,10000000000000000,12500000000000,40000000000000000,5000000000000000,60,1000000)"
    send(admin, ex, "addMarket((bytes16,uint32,uint32,uint256,uint256,uint256,uint256,uint256,int256,int256,uint256,int256,uint256,uint256,uint256,uint256))", market)
    for who, dollars in ((alice, 1_000_000), (bob, 1_000_000), (carol, 1_000_000), (dave, 1_000_000), (lev, 5_500)):
        send(admin, usd, "mint(address,uint256)", who, dollars * 10**6)
        send(who, usd, "approve(address,uint256)", ex, 2**256 - 1)
        send(who, ex, "deposit(uint256)", dollars * 10**6)

    place_sig = "place(uint8,uint8,uint256,uint256,bool,bool,uint32,uint64)"
    ioc_sig = "placeIOC(uint8,uint8,uint256,uint256,bool,uint64)"

    def place(who, side, px, size, post=True):
        r = send(who, ex, place_sig, 0, side, px, size, "true" if post else "false", "false", 0, 0)
        return r, int(r["logs"][0]["topics"][1], 16)  # OrderPlaced(orderId indexed, ...)

    def ioc(who, side, px, size):
        return send(who, ex, ioc_sig, 0, side, px, size, "false", 0)

    # same setUp as Gas.t.sol: positions for everyone, then a 5-level ladder per side for alice
    place(carol, SELL, P + 100 * TICK, SZ)
    ioc(bob, BUY, P + 100 * TICK, SZ // 10)
    place(carol, BUY, P - 100 * TICK, SZ)
    ioc(dave, SELL, P - 100 * TICK, SZ // 10)
    place(bob, BUY, P - 100 * TICK, SZ)
    ioc(alice, SELL, P - 100 * TICK, SZ // 10)
    for i in range(1, 6):
        place(alice, BUY, P - i * 10 * TICK, SZ)
        place(alice, SELL, P + i * 10 * TICK, SZ)
    price(1, P)

    rows = []

    def rec(what, receipt):
        rows.append((what, gas_of(receipt)))

    r, _ = place(alice, BUY, P - 7 * TICK, SZ)
    rec("place post-only, new price level (fresh slot)", r)
    r, _ = place(carol, BUY, P - 10 * TICK, SZ)
    rec("place post-only, existing level (2nd in queue)", r)

    _, b = place(alice, BUY, P - 5 * TICK, SZ)
    send(alice, ex, "replace(uint256,uint256,uint256)", b, P - 4 * TICK, SZ)
    send(alice, ex, "replace(uint256,uint256,uint256)", b, P - 5 * TICK, SZ)
    rec("replace best bid 1 tick up, same size (ticks used before)",
        send(alice, ex, "replace(uint256,uint256,uint256)", b, P - 4 * TICK, SZ))
    rec("replace same price, smaller size (keeps priority)",
        send(alice, ex, "replace(uint256,uint256,uint256)", b, P - 4 * TICK, SZ // 2))
    rec("replace to a never-used tick (fresh level slot)",
        send(alice, ex, "replace(uint256,uint256,uint256)", b, P - 3 * TICK, SZ // 2))
    rec("cancel, only order at its level", send(alice, ex, "cancel(uint256)", b))
    _, mid = place(bob, BUY, P - 10 * TICK, SZ)
    place(carol, BUY, P - 10 * TICK, SZ)
    rec("cancel, middle of a 4-order queue", send(bob, ex, "cancel(uint256)", mid))
    r, _ = place(alice, BUY, P - 3 * TICK, SZ)
    rec("place post-only, re-opened (previously used) level", r)

    for k in (1, 3, 5):
        for i in range(k):
            place(carol, SELL, P + (1 + i) * TICK, SZ)
        price(1, P)
        rec(f"IOC buy through {k} level(s), 1 maker order each", ioc(bob, BUY, P + k * TICK, k * SZ))

    rec("pokeFunding (one premium sample)", send(dave, ex, "pokeFunding(uint8)", 0))
    nxt = int(cast("call", ex, "nextFundingTime(uint8)(uint256)", 0, "--rpc-url", RPC).split()[0])
    cast("rpc", "evm_setNextBlockTimestamp", nxt, "--rpc-url", RPC)
    cast("rpc", "evm_mine", "--rpc-url", RPC)
    price(1, P)
    rec("settleFunding (incl. keeper reward)", send(dave, ex, "settleFunding(uint8)", 0))

    place(carol, SELL, P + TICK, 10**8)
    ioc(lev, BUY, P + TICK, 10**8)
    price(1, 46_000 * 10**8)
    rec("liquidate full position (transfer to liquidator)", send(dave, ex, "liquidate(address,uint8,uint256)", lev, 0, 10**8))
    send(admin, usd, "mint(address,uint256)", alice, 10**9)
    rec("deposit (existing account)", send(alice, ex, "deposit(uint256)", 10**9))
    rec("withdraw (account with positions/orders: margin check)", send(alice, ex, "withdraw(uint256)", 10**9))

    width = max(len(w) for w, _ in rows)
    for what, g in rows:
        print(f"{what.ljust(width)}  {g:>8,}")


if __name__ == "__main__":
    main()
