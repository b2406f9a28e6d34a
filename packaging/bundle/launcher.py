"""Entry point of the PyInstaller bundle: the ``hccdesk`` command, frozen.

``freeze_support`` must run before anything else: the jobs' spawn workers and the phantom's process pool start
this same executable again, and it has to become a worker instead of parsing a command line.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from hccdesk.cli import main

    sys.exit(main())
