"""The experiments module's statistics and table, on hand-made run records."""

import math

import pytest

from glad_hf.training.experiments import permutation_p_value, results_table, summarize


def test_permutation_p_values_are_exact_for_few_seeds():
    assert permutation_p_value([4, 5, 6], [1, 2, 3]) == pytest.approx(
        2 / 20
    )  # 2 of C(6, 3) splits as extreme
    assert permutation_p_value([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert math.isnan(permutation_p_value([1.0], [2.0, 3.0]))  # one value: no test


def _runs(values_by_method: dict) -> list[dict]:
    return [
        {
            "method": m,
            "label": label,
            "seed": s,
            "target_mca": t,
            "target_top1": t,
            "source_mca": 0.9,
            "seconds": 10.0,
        }
        for m, (label, values) in values_by_method.items()
        for s, t in enumerate(values)
    ]


def test_summary_and_table_from_runs():
    runs = _runs({"source_only": ("source-only", [0.5, 0.52, 0.48]), "dann": ("DANN", [0.6, 0.62, 0.64])})
    summary = summarize(runs)
    assert list(summary) == ["source_only", "dann"]
    assert summary["dann"]["target_mca_mean"] == pytest.approx(62.0)
    assert summary["dann"]["gain_vs_source_only"] == pytest.approx(12.0)
    assert summary["dann"]["p_vs_source_only"] == pytest.approx(0.1)
    assert "p_vs_dann" not in summary["dann"] and "p_vs_source_only" not in summary["source_only"]
    table = results_table(summary)
    assert "| DANN | 62.0 ± 2.0 | 62.0 | 90.0 ± 0.0 | +12.0 | 0.1 | – | – | 60.0, 62.0, 64.0 | 10 |" in table


def test_the_table_gives_stage_1_clip_order_of_the_methods_that_start_from_it():
    runs = _runs({"gla_tol": ("GLA + TOL", [0.6, 0.7]), "gla": ("GLA", [0.7, 0.8])})
    for run, (source, target) in zip(runs[:2], [(0.5, 0.6), (0.7, 0.8)], strict=True):
        run.update(tol_source_accuracy=source, tol_target_accuracy=target)
    summary = summarize(runs)
    assert summary["gla_tol"]["tol_source_accuracy_mean"] == pytest.approx(60.0)
    assert summary["gla_tol"]["tol_target_accuracy_mean"] == pytest.approx(70.0)
    assert "tol_source_accuracy_mean" not in summary["gla"]
    table = results_table(summary)
    assert (
        "| GLA + TOL | 65.0 ± 7.1 | 65.0 | 90.0 ± 0.0 | – | – | – | 60.0 / 70.0 | 60.0, 70.0 | 10 |" in table
    )
    assert "| GLA | 75.0 ± 7.1 | 75.0 | 90.0 ± 0.0 | – | – | – | – | 70.0, 80.0 | 10 |" in table


def test_a_single_seed_table_has_no_spread_and_no_p_value():
    table = results_table(
        summarize(_runs({"glad": ("GLAD", [0.61]), "source_only": ("source-only", [0.46])}))
    )
    assert "| GLAD | 61.0 | 61.0 | 90.0 | +15.0 | – | – | – | 61.0 | 10 |" in table
