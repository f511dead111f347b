"""A worker process of the local runner: Beam's SDK harness with only errors on the terminal.

``--workers N`` starts N of these. Beam's own worker command logs its start-up and shutdown at
INFO, and warnings about Google Cloud libraries it does not need here, on the terminal it shares
with the progress bars, before any log-level option can reach it. Here the root logger's
handlers (the one ``logging.basicConfig()`` added when this package imported Beam) give way to
one for errors alone, and library warnings are ignored as the command line ignores them. A
failing worker still fails the job, and its error reaches the driver.
"""

from __future__ import annotations

import logging
import sys
import warnings


def main() -> None:
    warnings.simplefilter("ignore")
    errors_only = logging.StreamHandler(sys.stderr)
    errors_only.setLevel(logging.ERROR)
    logging.getLogger().handlers[:] = [errors_only]
    from apache_beam.runners.worker import sdk_worker_main

    sdk_worker_main.main(sys.argv)


if __name__ == "__main__":
    main()
