"""``python -m kdgui.cli`` runs kdgui-cli."""

import sys

from kdgui.cli import main

sys.exit(main())
