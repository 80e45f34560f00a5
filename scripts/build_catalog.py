"""Regenerate ``aisa_core/catalog.json`` from AIsa's published model facts.

    python scripts/build_catalog.py                      # from the vendored data/aisa-catalog.json
    python scripts/build_catalog.py --source PATH        # from a newer transcription (copied in)
    python scripts/build_catalog.py --check              # exit 1 if the catalog is out of date

``tests/core/test_catalog.py`` runs the check, so the two never drift apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "data" / "aisa-catalog.json"
CATALOG = ROOT / "aisa_core" / "catalog.json"


def render(source: Path) -> str:
    from aisa_core.capabilities import build_catalog

    return json.dumps(build_catalog(json.loads(source.read_text("utf-8"))), indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="a newer aisa-catalog.json to vendor first")
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    if args.source is not None and not args.check:
        shutil.copyfile(args.source, VENDORED)
    text = render(args.source or VENDORED)
    if args.check:
        if CATALOG.read_text("utf-8") != text:
            print(f"{CATALOG} is out of date: run python scripts/build_catalog.py", file=sys.stderr)
            return 1
        return 0
    CATALOG.write_text(text, "utf-8")
    print(f"wrote {CATALOG} ({len(json.loads(text)['models'])} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
