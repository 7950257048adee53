"""The compression report: figures measured from the networks, and a sentence computed from them."""

import pytest

from kdgui.core.config import NetSpec
from kdgui.core.models import build_model, parameter_count
from kdgui.core.report import (
    ModelFigures, format_report, latency_method, measure, report_dict, state_dict_bytes, summary_sentence,
)


def figures(role, parameters, latency, acc):
    return ModelFigures(role, role, parameters, parameters * 4, latency, latency / 10, acc)


def test_sentence_is_computed_from_the_figures():
    rows = {"teacher": figures("teacher", 2_395_210, 0.21, 0.9824),
            "student": figures("student", 39_760, 0.02, 0.9718),
            "distilled": figures("distilled", 39_760, 0.0191, 0.9725)}
    sentence = summary_sentence(rows)
    assert sentence.startswith("The distilled student is 60x smaller, 11x faster on one image, and 0.99 points less accurate")
    assert "Distillation gained 0.07 points over the same network trained on labels alone." in sentence


def test_sentence_without_a_distilled_student_or_accuracies():
    rows = {"teacher": figures("teacher", 1000, 1.0, None), "student": figures("student", 500, 0.4, None)}
    assert summary_sentence(rows) == "The student is 2.0x smaller, 2.5x faster on one image."
    assert "Train" in summary_sentence({"teacher": rows["teacher"]})


def test_measure_reads_size_and_time_from_the_network():
    spec = NetSpec(hidden=(50,))
    model = build_model(spec, seed=0)
    row = measure("student", "s", model, 0.97, repeats=3)
    assert row.parameters == parameter_count(spec) == 39_760
    assert row.bytes_on_disk == state_dict_bytes(model) and 39_760 * 4 < row.bytes_on_disk < 39_760 * 4 + 4000
    assert row.latency_batch1_ms > 0 and row.latency_batch256_ms_per_image > 0


def test_report_text_and_json_hold_every_row():
    rows = {"teacher": figures("teacher", 2_395_210, 0.21, 0.9824), "distilled": figures("distilled", 39_760, 0.02, 0.97)}
    text = format_report(rows)
    assert "2,395,210" in text and "98.24%" in text and text.splitlines()[0] == summary_sentence(rows)
    data = report_dict(rows)
    assert data["models"]["distilled"]["parameters"] == 39_760 and data["summary"] == summary_sentence(rows)
    assert data["models"]["teacher"]["test_acc"] == pytest.approx(0.9824)


def test_latency_is_timed_on_one_thread_for_every_network_and_the_count_is_put_back():
    import torch

    from kdgui.core.report import LATENCY_THREADS, cpu_latency_ms
    from kdgui.core.threads import requesting

    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return x[:, :10]

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert cpu_latency_ms(Probe(), 1, repeats=3) > 0
        assert set(seen) == {LATENCY_THREADS} == {1} and torch.get_num_threads() == 2
        seen.clear()
        with requesting(2):  # --threads: the same count, for every network
            row = measure("student", "s", build_model(NetSpec(hidden=(8,)), seed=0), None, repeats=2)
            cpu_latency_ms(Probe(), 1, repeats=2)
        assert set(seen) == {2} and row.latency_threads == 2
    finally:
        torch.set_num_threads(before)


def test_the_footnote_says_how_latency_was_measured():
    rows = {"teacher": figures("teacher", 2_395_210, 0.21, None), "distilled": figures("distilled", 39_760, 0.02, None)}
    assert format_report(rows).splitlines()[-1] == latency_method(1)
    assert "fastest tenth" in latency_method(1) and "1 thread for every network" in latency_method(1)
