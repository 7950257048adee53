"""Teacher and students side by side on one drawn digit: logits once, softened probabilities at any temperature."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from .config import IMAGE_PIXELS, KIND_TITLES
from .errors import KdguiError
from .losses import softmax_t
from .preprocess import preprocess


@dataclass(frozen=True)
class NamedModel:
    """A network to show on the canvas: its key (teacher, student, distilled), display label and origin."""

    key: str
    label: str
    model: nn.Module
    source: str = "bundled"  # "bundled", or the id of the user's run it was loaded from


@dataclass(frozen=True)
class Prediction:
    """Every model's logits for one digit; probabilities at any temperature come from them without a forward pass."""

    pixels: torch.Tensor  # the [784] input the models saw
    logits: dict[str, torch.Tensor]  # key -> [10]
    classes: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", {k: int(v.argmax()) for k, v in self.logits.items()})

    def probabilities(self, temperature: float = 1.0) -> dict[str, torch.Tensor]:
        """``softmax(logits / T)`` per model: T = 1 is what the model believes, larger T shows the dark knowledge."""
        if not temperature > 0:
            raise ValueError(f"temperature must be greater than 0, got {temperature}")
        return {k: softmax_t(v, temperature) for k, v in self.logits.items()}

    @property
    def disagree(self) -> bool:
        """True when the models' predicted classes are not all the same."""
        return len(set(self.classes.values())) > 1

    @property
    def agreed_class(self) -> int | None:
        """The class every model predicts, or None when they disagree."""
        return None if self.disagree else next(iter(self.classes.values()), None)


class Predictor:
    """Holds named models (eval mode) and answers for a preprocessed digit in one forward pass each."""

    def __init__(self, models: Iterable[NamedModel] | Mapping[str, nn.Module]) -> None:
        if isinstance(models, Mapping):
            models = [NamedModel(k, KIND_TITLES.get(k, k), m, "") for k, m in models.items()]
        self.models: list[NamedModel] = list(models)
        if not self.models:
            raise KdguiError("the predictor needs at least one model")
        keys = [m.key for m in self.models]
        if len(set(keys)) != len(keys):
            raise KdguiError(f"model keys must differ, got {', '.join(keys)}")
        for m in self.models:
            m.model.eval()  # dropout off: a drawn digit must always get the same answer

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.models]

    def predict(self, pixels: torch.Tensor) -> Prediction:
        """Logits of every model for one [784] input (as :func:`preprocess` returns)."""
        # A copy, so the Prediction keeps the input it answered even if the caller reuses its buffer.
        x = torch.as_tensor(pixels, dtype=torch.float32).reshape(1, IMAGE_PIXELS).clone()
        # inference_mode skips autograd bookkeeping: the stroke-to-answer path stays well under a millisecond.
        with torch.inference_mode():
            logits = {}
            for m in self.models:
                device = next(m.model.parameters()).device
                logits[m.key] = m.model(x.to(device))[0].float().cpu()
        return Prediction(x[0], logits)

    def predict_image(self, image: Any) -> Prediction | None:
        """Preprocess a canvas image and predict; None for an empty or nearly empty canvas."""
        pixels = preprocess(image)
        return None if pixels is None else self.predict(pixels)


def bundled_models(folder: Any = None) -> list[NamedModel]:
    """The bundled teacher, student and distilled student (what a first launch shows)."""
    from .bundled import load_bundled

    return [NamedModel(kind, b.label, b.model, "bundled") for kind, b in load_bundled(folder).items()]
