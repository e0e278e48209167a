#!/usr/bin/env python3
"""Re-extract keeper/data/idl/drift.json from the published npm package and check its digest.

Usage: python idl/extract_idl.py [--version 2.163.0-beta.0] [--check]

It runs `npm pack @drift-labs/sdk@VERSION` (the npm registry is the only source),
takes `package/src/idl/drift.json` out of the tarball, and either writes it over the
shipped copy (keeper/data/idl/) or, with --check, compares it with the committed copy.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@drift-labs/sdk"
DEFAULT_VERSION = "2.163.0-beta.0"
MEMBER = "package/src/idl/drift.json"
EXPECTED_SHA256 = "79b423239fc268c03c60cd1d5e3fb50766b9d1f685744df3ca94d63b30519490"
HERE = Path(__file__).resolve().parent.parent / "keeper" / "data" / "idl"


def fetch(version: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = (
            subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{version}", "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        with tarfile.open(Path(tmp) / out) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise SystemExit(f"{MEMBER} not found in {out}")
            return member.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--check", action="store_true", help="compare with keeper/data/idl/drift.json")
    args = parser.parse_args()
    data = fetch(args.version)
    digest = hashlib.sha256(data).hexdigest()
    print(f"{PACKAGE}@{args.version} {MEMBER}: sha256 {digest}")
    if args.version == DEFAULT_VERSION and digest != EXPECTED_SHA256:
        print(f"digest differs from the recorded {EXPECTED_SHA256}", file=sys.stderr)
        return 1
    target = HERE / "drift.json"
    if args.check:
        same = target.read_bytes() == data
        print("keeper/data/idl/drift.json matches" if same else "keeper/data/idl/drift.json DIFFERS")
        return 0 if same else 1
    target.write_bytes(data)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
