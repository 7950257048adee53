"""The Qt-free engine of kdgui: data, models, losses, training, runs on disk."""
