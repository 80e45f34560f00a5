"""Running a few lines in a fresh interpreter where pandas cannot be imported, shared by the
tests that tables show without pandas and that ``to_pandas()`` then names what is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

MISSING = "to_pandas() needs pandas: pip install pandas"


def tables_without_pandas(setup: str, tables: str) -> list[str]:
    """Run ``setup``, then for each table in the expression ``tables``: check it renders as
    HTML, and call ``to_pandas()``; returns the ImportError messages, one line each."""
    script = (
        "import sys\n"
        "sys.modules['pandas'] = None  # as if not installed\n"
        f"{textwrap.dedent(setup)}\n"
        f"for table in {tables}:\n"
        "    assert '<table' in table._repr_html_()\n"
        "    try:\n"
        "        table.to_pandas()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
