"""Alpha x temperature grid: each grid student equals its solo run, the grid is summarised, saved and printed as a grid."""

from __future__ import annotations

import math

import pytest
import torch

from kdgui.core.errors import ConfigError
from kdgui.core.experiments import list_experiments
from kdgui.core.sweep import SweepEvaluation, SweepFinished, SweepStarted, format_sweep_table, grid_of, is_grid
from kdgui.core.training import execute, run_to_end

from .test_sweep import sweep, sweep_config, teacher  # noqa: F401 - teacher is a fixture

GRID = dict(alphas=(0.3, 1.0), temperatures=(2.0, 5.0), seeds=2, loss="hinton")


def test_each_grid_student_ends_with_the_weights_of_its_solo_run(store, data, teacher):  # noqa: F811
    config = sweep_config(teacher, keep_best=False, **GRID)  # the solo runs save their last weights
    assert len(config.members) == 8 and config.is_grid
    events, students = sweep(config, store, data)
    finished = events[-1]
    assert isinstance(finished, SweepFinished)
    # (alpha 0.3, T 5, seed 0), which mixes in labels, and (alpha 1, T 2, seed 1): another alpha, T and seed.
    for k in (1, 6):
        alpha, temperature, seed = config.members[k]
        solo = run_to_end(execute(config.student_job(temperature, seed, alpha=alpha), store, data=data))
        solo_weights = store.get(solo.run_id).load_model().state_dict()
        mine = students.state_dict_of(k)
        for name in mine:
            torch.testing.assert_close(mine[name], solo_weights[name], rtol=1e-4, atol=2e-5)
        assert finished.test_acc[k] == pytest.approx(solo.test_acc, abs=1.5 / len(data.test_y))
        assert finished.val_acc[k] == pytest.approx(solo.val_acc, abs=1.5 / len(data.val_y))
    assert config.members[1] == (0.3, 5.0, 0) and config.members[6] == (1.0, 2.0, 1)
    # The alpha matters: the same T and seed with labels mixed in ends elsewhere.
    other = students.state_dict_of(0), students.state_dict_of(2)  # (0.3, 2, 0) and (1, 2, 0)
    assert max((other[0][n] - other[1][n]).abs().max() for n in other[0]) > 1e-3


def test_grid_points_are_per_alpha_and_temperature_and_saved_as_a_grid(store, data, teacher):  # noqa: F811
    config = sweep_config(teacher, eval_every=0, **GRID)
    events, _ = sweep(config, store, data)
    started, finished = events[0], events[-1]
    assert isinstance(started, SweepStarted) and started.alphas == (0.3, 0.3, 1.0, 1.0) * 2
    assert started.temperatures == (2.0, 5.0) * 4 and started.seeds == (0,) * 4 + (1,) * 4
    evaluation = next(e for e in events if isinstance(e, SweepEvaluation))
    assert [(p.alpha, p.temperature, p.n) for p in evaluation.by_temperature()] == [
        (0.3, 2.0, 2), (0.3, 5.0, 2), (1.0, 2.0, 2), (1.0, 5.0, 2)]
    grid = grid_of(finished.points)
    assert grid.alphas == (0.3, 1.0) and grid.temperatures == (2.0, 5.0) and grid.seeds == 2
    for p in finished.points:
        i, j = grid.alphas.index(p.alpha), grid.temperatures.index(p.temperature)
        mine = [v for (a, t, _), v in zip(config.members, finished.val_acc) if (a, t) == (p.alpha, p.temperature)]
        assert grid.val[i][j] == p.val_mean == pytest.approx(sum(mine) / 2)
        assert grid.test[i][j] == p.test_mean
    i, j = grid.best()
    assert grid.val[i][j] == max(max(r) for r in grid.val)
    (record,) = list_experiments(store, "sweep")
    assert record["grid"] == grid.to_dict()
    assert [s["alpha"] for s in record["students"]] == [a for a, _, _ in config.members]
    table = format_sweep_table(finished.points, started.references)
    assert "alpha down, temperature across" in table and f"α={grid.alphas[i]:g}, T={grid.temperatures[j]:g} was best" in table
    assert is_grid(finished.points)


def test_a_one_alpha_sweep_keeps_its_temperature_table():
    from kdgui.core.sweep import summarize

    points = summarize([1.0, 2.0], [0.9, 0.95], [0.89, 0.94], [0.5, 0.5])
    assert not is_grid(points) and [p.alpha for p in points] == [0.5, 0.5]
    assert format_sweep_table(points).splitlines()[0].split() == ["T", "validation", "test"]
    grid = grid_of(points)
    assert grid.alphas == (0.5,) and grid.val == ((0.9, 0.95),)
    assert math.isnan(grid_of(summarize([1.0, 2.0], [0.9, 0.95], [0.8, 0.9], [0.1, 0.5])).val[0][1])


@pytest.mark.parametrize("overrides, needle", [
    ({"alphas": (0.5, 0.5)}, "each alpha once"),
    ({"alphas": (0.5, 1.5)}, "alpha"),
    ({"alphas": (0.5, 1.0), "alpha": 0.7}, "not both"),
    ({"alphas": tuple(i / 100 for i in range(60)), "temperatures": tuple(range(1, 11)), "seeds": 2}, "at most 1024 students"),
])
def test_bad_grids_are_one_line_config_errors(overrides, needle):
    with pytest.raises(ConfigError) as exc:
        sweep_config("some-teacher", **overrides)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_a_saved_sweep_reads_back_as_its_points_and_a_foreign_file_as_nothing(store, data, teacher):  # noqa: F811
    from kdgui.core.sweep import saved_results

    events, _ = sweep(sweep_config(teacher, epochs=1, **GRID), store, data)
    (record,) = list_experiments(store, "sweep")
    points, references = saved_results(record)
    assert points == events[-1].points and references == events[0].references
    old = {"table": [{k: v for k, v in row.items() if k != "alpha"} for row in record["table"]]}  # saved before grids
    assert [p.alpha for p in saved_results(old)[0]] == [None] * 4
    for bad in ({"table": [{**record["table"][0], "val_min": "x"}]}, {"table": [{**record["table"][0], "alpha": [1]}]},
                {"table": "no"}, {"table": [3]}, {}):
        assert saved_results(bad) == ((), ())
