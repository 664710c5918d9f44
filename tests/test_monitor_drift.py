"""Profiles and drift statistics on data whose answer is known."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from nbprod.monitor.drift import column_drift, default_method
from nbprod.monitor.profile import MAX_PROFILE_BYTES, build_profile, decode_sample


def col(values, name: str = "x") -> dict:
    return build_profile("p", {name: values})["columns"][name]


def normal(n: int, seed: int, shift: float = 0.0):
    return np.random.default_rng(seed).normal(10 + shift, 2, n)


def cats(n: int, seed: int, labels=("a", "b", "c"), p=(0.5, 0.3, 0.2)):
    return np.random.default_rng(seed).choice(list(labels), n, p=list(p)).astype(object)


@pytest.mark.parametrize(
    ("make", "n", "method"),
    [
        (normal, 500, "ks"),
        (normal, 5000, "wasserstein"),
        (cats, 500, "chisquare"),
        (cats, 5000, "jensenshannon"),
    ],
)
def test_small_and_large_samples_take_their_methods_and_the_same_distribution_does_not_drift(
    make, n, method
):
    reference, current = col(make(n, 1)), col(make(n, 2))
    assert default_method(reference) == method
    result = column_drift(reference, current)
    assert result.method == method
    assert not result.drifted, result
    assert result.statistic is not None and math.isfinite(result.statistic)


@pytest.mark.parametrize("n", [500, 5000])
@pytest.mark.parametrize("method", [None, "psi"])
def test_a_one_sd_mean_shift_drifts(n, method):
    result = column_drift(col(normal(n, 1)), col(normal(n, 2, shift=2.0)), method)
    assert result.drifted, result


def test_psi_sees_no_drift_in_the_same_distribution():
    result = column_drift(col(normal(5000, 1)), col(normal(5000, 2)), "psi")
    assert result.method == "psi" and not result.drifted, result
    result = column_drift(col(cats(5000, 1)), col(cats(5000, 2)), "psi")
    assert not result.drifted, result


def test_a_shift_in_category_shares_drifts():
    shifted = cats(5000, 2, p=(0.2, 0.3, 0.5))
    for n in (500, 5000):
        assert column_drift(col(cats(n, 1)), col(shifted[:n])).drifted


def test_a_new_category_drifts():
    result = column_drift(col(cats(500, 1)), col(cats(500, 2, ("a", "b", "z"))))
    assert result.method == "new_category" and result.drifted
    assert "z" in result.detail


def test_few_distinct_numbers_are_tested_as_categories():
    rng = np.random.default_rng(3)
    reference = col(rng.integers(0, 4, 800))
    assert default_method(reference) == "chisquare"
    assert not column_drift(reference, col(rng.integers(0, 4, 800))).drifted
    assert (
        column_drift(reference, col(rng.integers(0, 5, 800))).method == "new_category"
    )


def test_missing_added_and_retyped_columns_drift():
    numbers = col(normal(100, 1))
    assert column_drift(numbers, None).method == "missing"
    assert column_drift(None, numbers).method == "added"
    retyped = column_drift(numbers, col(cats(100, 1)))
    assert retyped.method == "kind" and retyped.drifted


def test_empty_constant_and_null_columns_give_clear_verdicts_never_nan():
    empty = col(np.array([], dtype=float))
    nulls = col(np.full(50, np.nan))
    constant = col(np.full(2000, 3.0))
    values = col(normal(2000, 1))
    for reference, current, drifted in [
        (empty, empty, False),
        (nulls, nulls, False),
        (values, nulls, True),
        (nulls, values, True),
        (constant, constant, False),
        (constant, col(np.full(2000, 4.0)), True),
        (constant, values, True),
    ]:
        result = column_drift(reference, current)
        assert result.drifted is drifted, result
        assert result.detail
        assert result.statistic is None or math.isfinite(result.statistic)
    assert "null" in column_drift(values, nulls).detail


def test_overrides_and_bad_methods():
    reference, current = col(normal(500, 1)), col(normal(500, 2, shift=0.3))
    assert column_drift(reference, current, "wasserstein", 0.5).drifted is False
    with pytest.raises(ValueError, match="unknown drift method"):
        column_drift(reference, current, "nope")
    with pytest.raises(ValueError, match="cannot test a categorical"):
        column_drift(col(cats(100, 1)), col(cats(100, 2)), "ks")


def test_profile_of_a_dataframe_keeps_counts_quantiles_and_frequencies():
    frame = pd.DataFrame(
        {
            "n": [1.0, 2.0, np.nan, 4.0],
            "c": ["a", "b", "a", None],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-03"]),
            "b": [True, False, True, True],
        }
    )
    columns = build_profile("input", frame)["columns"]
    assert columns["n"]["kind"] == "numeric" and columns["n"]["nulls"] == 1
    assert columns["n"]["min"] == 1.0 and columns["n"]["quantiles"]["0.5"] == 2.0
    assert list(decode_sample(columns["n"]["sample"])) == [1.0, 2.0, 4.0]
    assert columns["c"] == {
        "kind": "categorical",
        "count": 4,
        "nulls": 1,
        "unique": 2,
        "values": [["a", 2], ["b", 1]],
        "other": 0,
    }
    assert columns["t"]["kind"] == "datetime" and columns["t"]["min"] == 1704067200.0
    assert columns["b"]["values"] == [[True, 3], [False, 1]]
    # the same data through a dict of numpy columns gives the same numbers
    plain = build_profile("input", {"n": np.array([1.0, 2.0, np.nan, 4.0])})
    assert plain["columns"]["n"] == columns["n"]


def test_profile_size_is_bounded_at_200000_rows_and_50_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.normal(size=(200_000, 40)), columns=[f"n{i}" for i in range(40)]
    )
    for i in range(10):
        frame[f"c{i}"] = rng.integers(0, 5000, 200_000).astype(str)
        frame[f"c{i}"] = "customer-segment-label-" + frame[f"c{i}"] + "x" * 60
    profile = build_profile("input", frame)
    size = len(json.dumps(profile).encode())
    assert size <= MAX_PROFILE_BYTES
    assert len(profile["columns"]) == 50
    assert profile["columns"]["n0"]["count"] == 200_000
    assert 0 < profile["sample_cap"] <= 1000


def test_bad_input_says_what_is_wrong():
    with pytest.raises(TypeError, match="DataFrame"):
        build_profile("p", 42)
    with pytest.raises(ValueError, match="differ in length"):
        build_profile("p", {"a": [1, 2], "b": [1]})
