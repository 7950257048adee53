"""``python -m kdgui`` opens the app."""

import sys

from kdgui.app import main

sys.exit(main())
