"""The ``aisa`` command line and the ``make demo`` tour.

- ``console``: the ``aisa`` console script (``main``): arguments, exit codes, one-line errors.
- ``commands``: what each command does, given the parsed arguments.
- ``format``: pure text formatting (money, sizes, aligned tables, one-line summaries).
- ``output``: how an answer reaches the terminal (reasoning set apart on stderr, then the answer).
- ``demo``: ``python -m aisa_core.cli.demo`` (``make demo``), a short tour of the package.

``python -m aisa_core.cli`` runs the same ``main`` as the ``aisa`` script. These modules use the
core only through its public modules (``aisa_core``, ``aisa_core.config``, ``.errors``,
``.types``, ``.content``, ``.capabilities``) and the stand-in (``aisa_core.standin``).
"""

from __future__ import annotations

from .console import build_parser, main

__all__ = ["build_parser", "main"]
