"""The window's tabs and docks by name and title, free of Qt and torch: `kdgui --help` lists them without loading either."""

TABS = {"curves": "Curves", "soft_targets": "Soft targets", "draw": "Draw", "experiments": "Experiments",
        "report": "Compare", "insight": "What changed"}
DOCKS = {"data": "Data", "networks": "Networks", "training": "Training", "distillation": "Distillation", "runs": "Runs"}
SETTINGS_DOCKS = ("data", "networks", "training", "distillation")  # the left column, shown and hidden together
# Views inside a tab, by name: {name: (tab, title)}; ``--panel changed`` shows the What changed tab's first view.
VIEWS = {"changed": ("insight", "What changed"), "confusion": ("insight", "Confusion matrices"),
         "hidden": ("insight", "Hidden units"), "probe": ("draw", "Probe")}
PANELS = tuple(DOCKS) + tuple(TABS) + tuple(VIEWS)
