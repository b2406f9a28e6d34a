"""``python -m hccdesk`` is the same as the ``hccdesk`` command."""

import multiprocessing
import sys

from hccdesk.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
