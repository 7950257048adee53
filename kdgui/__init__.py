"""kdgui: a desktop app for watching knowledge distillation on MNIST."""

__version__ = "0.1.0"
