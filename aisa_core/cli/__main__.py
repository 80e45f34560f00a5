"""``python -m aisa_core.cli``: the ``aisa`` command line, as the console script runs it."""

from __future__ import annotations

import sys

from .console import main

if __name__ == "__main__":
    sys.exit(main())
