"""Entry script for the PyInstaller build (see kdgui.spec): opens the app like the ``kdgui`` command."""

import multiprocessing
import sys

from kdgui.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app must not re-run itself in a spawned child process
    sys.exit(main())
