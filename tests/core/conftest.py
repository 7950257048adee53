"""Fixtures the engine, sweep and study tests share: small learnable data, a runs store, an empty logit cache."""

from collections import OrderedDict

import pytest

from kdgui.core import training
from kdgui.core.runs import RunStore


@pytest.fixture
def data(synthetic_splits):
    return synthetic_splits(n_train=400, n_val=100, n_test=200, seed=0)


@pytest.fixture
def store(runs_dir):
    return RunStore(runs_dir)


@pytest.fixture(autouse=True)
def fresh_logit_cache(monkeypatch):
    monkeypatch.setattr(training, "_LOGIT_CACHE", OrderedDict())
