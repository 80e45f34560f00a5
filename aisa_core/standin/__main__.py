"""``python -m aisa_core.standin``: run the stand-in gateway in the foreground."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence

from ._server import StandIn
from ._steps import STANDIN_API_KEY


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m aisa_core.standin",
        description="Serve an offline stand-in for the AIsa gateway until Ctrl-C.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    def ready(base_url: str) -> None:
        print(f"AIsa stand-in gateway: {base_url}  (API key: {STANDIN_API_KEY})", flush=True)
        print(f"  export AISA_BASE_URL={base_url} AISA_API_KEY={STANDIN_API_KEY}", flush=True)

    # uvicorn handles Ctrl-C itself; this only hides a traceback from a second one.
    with contextlib.suppress(KeyboardInterrupt):
        StandIn.serve_forever(args.host, args.port, ready=ready, access_log=args.access_log)


if __name__ == "__main__":
    main()
