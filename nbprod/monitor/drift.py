"""Drift of one column between a baseline profile and a current one.

The method per column follows the well-known defaults of Evidently's data
drift preset, computed with scipy:

=========================================  ==================================  ============
column (reference rows = its non-null values)  method                          drift when
=========================================  ==================================  ============
numeric, ≤ 1000 rows                       two-sample Kolmogorov-Smirnov       p < 0.05
categorical or ≤ 5 distinct, ≤ 1000 rows   chi-square goodness of fit          p < 0.05
numeric, > 1000 rows                       Wasserstein distance / reference sd  ≥ 0.1
categorical or ≤ 5 distinct, > 1000 rows   Jensen-Shannon distance             ≥ 0.1
=========================================  ==================================  ============

``psi`` (population stability index) can be chosen per column, threshold 0.1.
A new category, a column that is missing or added, or whose kind changed, is
drift too. An empty, all-null or constant column gives a verdict with a reason,
never NaN. Methods are a registry (:data:`drift_methods`), so a plugin can add
its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbprod.monitor.profile import BOOL, CATEGORICAL, decode_sample

#: rows of the reference up to which the small-sample tests (KS, chi-square) are used
SMALL_SAMPLE = 1000
#: a numeric column with at most this many distinct values is tested like a category
LOW_CARDINALITY = 5
#: proportions of zero are replaced by this in PSI (its logarithm needs it)
PSI_EPSILON = 1e-4
#: bins of a numeric column in PSI (by the reference's quantiles)
PSI_BINS = 10


@dataclass(frozen=True)
class DriftResult:
    """The verdict of one drift test on one column.

    Attributes
    ----------
    method : str
        ``ks``, ``chisquare``, ``wasserstein``, ``jensenshannon``, ``psi``, or
        ``missing``/``added``/``kind``/``empty``/``new_category`` for the
        structural verdicts.
    statistic : float or None
        The p-value (KS, chi-square) or the distance; None for structural verdicts.
    threshold : float or None
        The threshold the statistic was compared with.
    drifted : bool
        Whether the column drifted.
    detail : str
        One line saying why, for people.
    """

    method: str
    statistic: float | None
    threshold: float | None
    drifted: bool
    detail: str


@dataclass(frozen=True)
class DriftMethod:
    """A drift test: its default threshold, and whether a low statistic means drift."""

    name: str
    test: Callable[[dict[str, Any], dict[str, Any]], tuple[float, str]]
    threshold: float
    #: p-values: drift below the threshold; distances: drift at or above it
    p_value: bool
    #: which kinds of column it can test: "numeric", "categorical" or both
    kinds: tuple[str, ...]

    def verdict(self, statistic: float, threshold: float) -> bool:
        """Whether ``statistic`` means drift at ``threshold``."""
        return statistic < threshold if self.p_value else statistic >= threshold


def _values(column: dict[str, Any]) -> int:
    """How many non-null values a profile column had."""
    return int(column.get("count", 0)) - int(column.get("nulls", 0))


def is_categorical(column: dict[str, Any]) -> bool:
    """Whether a profile column is tested as categories (its kind, or ≤ 5 distinct numbers)."""
    if column.get("kind") in (CATEGORICAL, BOOL):
        return True
    unique = column.get("unique")
    return unique is not None and unique <= LOW_CARDINALITY and "values" in column


def _aligned_counts(
    reference: dict[str, Any], current: dict[str, Any]
) -> tuple[list[Any], list[float], list[float], list[Any]]:
    """Category labels with the reference's and current's counts on the same labels.

    The last label is ``"other"`` when the reference kept only its top values:
    the current run's values outside the reference's labels are counted there.
    Returns the labels, both count lists, and the current labels the reference
    never had (new categories; only known when the reference kept every label).
    """
    ref_pairs = [(label, count) for label, count in reference.get("values", [])]
    cur = {_key(label): count for label, count in current.get("values", [])}
    labels = [label for label, _ in ref_pairs]
    ref_counts = [float(count) for _, count in ref_pairs]
    cur_counts = [float(cur.get(_key(label), 0)) for label in labels]
    known = {_key(label) for label in labels}
    cur_total = float(_values(current))
    rest = cur_total - sum(cur_counts)
    new: list[Any] = []
    if reference.get("other", 0):
        labels.append("other")
        ref_counts.append(float(reference["other"]))
        cur_counts.append(rest)
    else:
        new = [
            label for label, _ in current.get("values", []) if _key(label) not in known
        ]
        if rest > 0 and not new:
            # values outside the reference's complete list that the current
            # run's profile did not keep by name (beyond its top, or too many
            # distinct numbers to keep frequencies)
            new = [f"{int(rest)} value(s) the baseline never had"]
    return labels, ref_counts, cur_counts, new


def _key(label: Any) -> str:
    # bools and numbers must not collide (True == 1 in a dict)
    return f"{type(label).__name__}:{label}"


def _proportions(counts: list[float]) -> Any:
    import numpy as np

    array = np.asarray(counts, dtype=np.float64)
    total = array.sum()
    return array / total if total > 0 else array


def _ks(reference: dict[str, Any], current: dict[str, Any]) -> tuple[float, str]:
    from scipy.stats import ks_2samp

    result = ks_2samp(
        decode_sample(reference.get("sample")), decode_sample(current.get("sample"))
    )
    return float(result.pvalue), f"KS statistic {float(result.statistic):.3g}"


def _chisquare(reference: dict[str, Any], current: dict[str, Any]) -> tuple[float, str]:
    import numpy as np
    from scipy.stats import chisquare

    _, ref_counts, cur_counts, _ = _aligned_counts(reference, current)
    ref = np.asarray(ref_counts)
    cur = np.asarray(cur_counts)
    keep = ref > 0
    if keep.sum() < 2:
        # one category: nothing to compare its share with; the new-category
        # rule has already caught values outside it
        return 1.0, "a single category in the reference"
    expected = ref[keep] / ref[keep].sum() * cur[keep].sum()
    result = chisquare(cur[keep], expected)
    return (
        float(result.pvalue),
        f"chi-square {float(result.statistic):.3g} over {int(keep.sum())} categories",
    )


def _wasserstein(
    reference: dict[str, Any], current: dict[str, Any]
) -> tuple[float, str]:
    from scipy.stats import wasserstein_distance

    distance = float(
        wasserstein_distance(
            decode_sample(reference.get("sample")), decode_sample(current.get("sample"))
        )
    )
    std = reference.get("std") or 0.0
    if std <= 0:
        # a constant reference has no spread to norm by: any distance is a change
        return (
            distance,
            f"the reference is constant ({reference.get('min')}); distance {distance:.3g} unnormed",
        )
    return (
        distance / std,
        f"Wasserstein distance {distance:.3g} / reference sd {std:.3g}",
    )


def _jensenshannon(
    reference: dict[str, Any], current: dict[str, Any]
) -> tuple[float, str]:
    from scipy.spatial.distance import jensenshannon

    labels, ref_counts, cur_counts, _ = _aligned_counts(reference, current)
    distance = float(jensenshannon(_proportions(ref_counts), _proportions(cur_counts)))
    return distance, f"Jensen-Shannon distance over {len(labels)} categories"


def _psi(reference: dict[str, Any], current: dict[str, Any]) -> tuple[float, str]:
    import numpy as np
    from scipy.special import rel_entr

    if is_categorical(reference):
        _, ref_counts, cur_counts, _ = _aligned_counts(reference, current)
        ref, cur = _proportions(ref_counts), _proportions(cur_counts)
        bins = len(ref_counts)
    else:
        ref_sample = decode_sample(reference.get("sample"))
        cur_sample = decode_sample(current.get("sample"))
        edges = np.unique(
            np.quantile(ref_sample, np.linspace(0, 1, PSI_BINS + 1)[1:-1])
        )
        edges = np.concatenate(([-np.inf], edges, [np.inf]))
        ref = _proportions(list(np.histogram(ref_sample, edges)[0]))
        cur = _proportions(list(np.histogram(cur_sample, edges)[0]))
        bins = len(edges) - 1
    ref = np.where(ref > 0, ref, PSI_EPSILON)
    cur = np.where(cur > 0, cur, PSI_EPSILON)
    # PSI = sum((c - r) ln(c / r)), the symmetric Kullback-Leibler divergence
    value = float(np.sum(rel_entr(cur, ref) + rel_entr(ref, cur)))
    return value, f"PSI over {bins} bins"


class DriftMethods:
    """The drift methods by name."""

    def __init__(self) -> None:
        self._methods: dict[str, DriftMethod] = {}

    def register(self, method: DriftMethod) -> None:
        """Add (or replace) a method."""
        self._methods[method.name] = method

    def names(self) -> list[str]:
        """The registered method names."""
        return list(self._methods)

    def get(self, name: str) -> DriftMethod | None:
        """The method called ``name``, or None."""
        return self._methods.get(name)


#: the registry :func:`column_drift` uses
drift_methods = DriftMethods()
drift_methods.register(DriftMethod("ks", _ks, 0.05, True, ("numeric",)))
drift_methods.register(
    DriftMethod("chisquare", _chisquare, 0.05, True, ("categorical",))
)
drift_methods.register(
    DriftMethod("wasserstein", _wasserstein, 0.1, False, ("numeric",))
)
drift_methods.register(
    DriftMethod("jensenshannon", _jensenshannon, 0.1, False, ("categorical",))
)
drift_methods.register(DriftMethod("psi", _psi, 0.1, False, ("numeric", "categorical")))


def default_method(reference: dict[str, Any]) -> str:
    """The method Evidently's rules pick for a reference column."""
    small = _values(reference) <= SMALL_SAMPLE
    if is_categorical(reference):
        return "chisquare" if small else "jensenshannon"
    return "ks" if small else "wasserstein"


def column_drift(
    reference: dict[str, Any] | None,
    current: dict[str, Any] | None,
    method: str | None = None,
    threshold: float | None = None,
) -> DriftResult:
    """Test one column of a current profile against the baseline's.

    Parameters
    ----------
    reference, current : dict or None
        The column in the baseline's and the current run's profile (None:
        the profile has no such column).
    method : str, optional
        A registered method name; default: Evidently's rule for the column.
    threshold : float, optional
        Default: the method's.

    Returns
    -------
    DriftResult
        The verdict; structural problems (a missing column, no values) are
        verdicts too.

    Raises
    ------
    ValueError
        When ``method`` is unknown or cannot test this kind of column.
    """
    if reference is None and current is None:
        raise ValueError("no column to compare")
    if current is None:
        return DriftResult(
            "missing", None, None, True, "the column is missing from this run"
        )
    if reference is None:
        return DriftResult(
            "added", None, None, True, "the column is new (not in the baseline)"
        )
    if reference.get("kind") != current.get("kind"):
        return DriftResult(
            "kind",
            None,
            None,
            True,
            f"its kind changed from {reference.get('kind')} to {current.get('kind')}",
        )
    ref_n, cur_n = _values(reference), _values(current)
    if ref_n == 0 or cur_n == 0:
        if ref_n == cur_n:
            return DriftResult(
                "empty", None, None, False, "no values in the baseline or this run"
            )
        if cur_n == 0:
            why = f"no values in this run (all {current.get('count', 0)} rows null)"
        else:
            why = f"the baseline had no values; this run has {cur_n}"
        return DriftResult("empty", None, None, True, why)
    name = method or default_method(reference)
    chosen = drift_methods.get(name)
    if chosen is None:
        raise ValueError(
            f"unknown drift method {name!r} (known: {', '.join(drift_methods.names())})"
        )
    kind = "categorical" if is_categorical(reference) else "numeric"
    if kind not in chosen.kinds:
        raise ValueError(f"the drift method {name!r} cannot test a {kind} column")
    if kind == "categorical":
        _, _, _, new = _aligned_counts(reference, current)
        if new:
            shown = ", ".join(str(v) for v in new[:5])
            return DriftResult(
                "new_category", None, None, True, f"new categories in this run: {shown}"
            )
    if kind == "numeric" and (not reference.get("sample") or not current.get("sample")):
        return DriftResult(name, None, None, True, "the profile kept no sample to test")
    limit = chosen.threshold if threshold is None else float(threshold)
    statistic, detail = chosen.test(reference, current)
    if not math.isfinite(statistic):  # guarded above; never let a NaN out
        return DriftResult(name, None, limit, False, f"{detail}: no finite statistic")
    return DriftResult(name, statistic, limit, chosen.verdict(statistic, limit), detail)
