"""Export the ABIs of the deployable contracts from a forge build into `abis/`.

`python -m keeper.devchain.abi_export --out abis` writes one `<Contract>.json` (the bare ABI array,
sorted keys, stable formatting) per contract compiled from `contracts/` (tests, scripts and libraries
under `contracts/test/`, `contracts/script/` and `contracts/lib/` excluded). `--check` writes nothing
and exits 1 naming every file that differs from a fresh build, so a stale `abis/` fails CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXCLUDED_DIRS = ("contracts/test/", "contracts/script/", "contracts/lib/")


def collect_abis(out_dir: Path) -> dict[str, str]:
    """Map `<Contract>.json` to its rendered ABI for every exportable artifact in a forge `out/` dir."""
    rendered: dict[str, str] = {}
    for artifact in sorted(out_dir.glob("*.sol/*.json")):
        document = json.loads(artifact.read_text())
        source = _source_path(document)
        if source is None or not source.startswith("contracts/") or source.startswith(EXCLUDED_DIRS):
            continue
        abi = document.get("abi") or []
        bytecode = document.get("bytecode", {}).get("object", "0x")
        if not abi or bytecode in ("", "0x"):  # interfaces and libraries without code are not deployed
            continue
        name = f"{artifact.stem}.json"
        if name in rendered:
            raise SystemExit(f"two contracts named {artifact.stem}: rename one so abis/ stays unambiguous")
        rendered[name] = json.dumps(abi, indent=2, sort_keys=True) + "\n"
    return rendered


def _source_path(document: dict[str, object]) -> str | None:
    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        settings = metadata.get("settings")
        if isinstance(settings, dict) and isinstance(settings.get("compilationTarget"), dict):
            targets: dict[str, str] = settings["compilationTarget"]
            return next(iter(targets), None)
    ast = document.get("ast")
    if isinstance(ast, dict) and isinstance(ast.get("absolutePath"), str):
        return str(ast["absolutePath"])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--build", default="out", help="forge out/ directory (default: out)")
    parser.add_argument("--out", default="abis", help="ABI directory (default: abis)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when abis/ is stale")
    args = parser.parse_args(argv)
    build, target = Path(args.build), Path(args.out)
    fresh = collect_abis(build)
    if not fresh:
        print(f"no contract artifacts under {build}/: run `forge build` first", file=sys.stderr)
        return 1
    existing = {p.name: p.read_text() for p in target.glob("*.json")} if target.exists() else {}
    if args.check:
        stale = sorted(n for n in fresh.keys() | existing.keys() if fresh.get(n) != existing.get(n))
        for name in stale:
            print(f"{target / name}: differs from a fresh build (run `make abis`)", file=sys.stderr)
        return 1 if stale else 0
    target.mkdir(parents=True, exist_ok=True)
    for name in existing.keys() - fresh.keys():
        (target / name).unlink()
    for name, text in fresh.items():
        if existing.get(name) != text:
            (target / name).write_text(text)
    print(f"wrote {len(fresh)} ABI file(s) to {target}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
