"""``python -m curate``: the ``curate`` command, for environments without the console script."""

from curate.cli import main

main()
