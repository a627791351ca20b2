"""The leak-free split protocol: per dataset, by unique prompt text, 70/30 train/test with a
validation part carved from train, seeded so that one dataset's split never depends on another.

Why hash-ordered instead of ``rng.permutation``: each unit (a unique prompt text of one dataset)
gets a sort key ``sha256(stable_seed(seed, dataset) || sha256(text))``. The order is then
identical on every machine and numpy version, and adding a query to a dataset moves only that
query, never reshuffles the others. Units are whole prompt texts, so rows that share a text
(duplicates inside a dataset) always land in the same part.

Cross-split duplicates — the same text in train/valid and in test, which per-dataset grouping
cannot prevent across datasets, and which a source's own split can contain (nim9 ships 119 test
questions that are also in its train file) — are detected, reported and dropped from test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULT_SEEDS: tuple[int, ...] = (42, 999, 2024, 2025, 3407)
DEFAULT_TEST_FRACTION = 0.3
DEFAULT_VALID_FRACTION = 0.15
#: Behaviour version of the split; bump when any split would change.
SPLIT_VERSION = "1"


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (ints, strings), the same on every machine and run.

    Python's ``hash()`` is salted per process, so it cannot seed anything reproducible.
    """
    joined = "\x1f".join(f"{type(p).__name__}:{p}" for p in parts)
    return int.from_bytes(hashlib.sha256(joined.encode("utf-8")).digest()[:8], "big") >> 1


def _text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class SplitError(ValueError):
    """Split parameters or inputs that cannot give a sound split."""


@dataclass(frozen=True)
class Split:
    """Row indices (into the outcome matrix) of train, validation and test for one seed.

    ``dropped`` are test rows removed because their exact text also appears in train or valid;
    ``duplicate_rows`` counts rows that share their text with another row of the same dataset
    (kept together in one part).
    """

    seed: int
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ood: tuple[str, ...] = ()
    duplicate_rows: int = 0
    source: str = "protocol"

    def summary(self) -> dict[str, object]:
        return {
            "seed": self.seed,
            "source": self.source,
            "n_train": int(len(self.train)),
            "n_valid": int(len(self.valid)),
            "n_test": int(len(self.test)),
            "n_dropped_cross_split_duplicates": int(len(self.dropped)),
            "n_duplicate_rows_within_dataset": int(self.duplicate_rows),
            "ood": list(self.ood),
            "version": SPLIT_VERSION,
        }


def _check_fractions(test_fraction: float, valid_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise SplitError(f"test fraction must be in (0, 1), got {test_fraction}")
    if not 0.0 <= valid_fraction < 1.0:
        raise SplitError(f"valid fraction must be in [0, 1), got {valid_fraction}")


def _units(rows: np.ndarray, texts: Sequence[str]) -> dict[str, list[int]]:
    """Rows grouped by exact text, in first-appearance order."""
    groups: dict[str, list[int]] = {}
    for r in rows.tolist():
        groups.setdefault(texts[r], []).append(r)
    return groups


def _ordered(units: dict[str, list[int]], seed: int, dataset: str, salt: str = "") -> list[str]:
    prefix = stable_seed(seed, dataset, salt).to_bytes(8, "big")
    return sorted(units, key=lambda t: hashlib.sha256(prefix + _text_digest(t)).digest())


def _drop_cross_split(
    texts: Sequence[str], fit_rows: np.ndarray, test_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    seen = {texts[r] for r in fit_rows.tolist()}
    keep = np.array([texts[r] not in seen for r in test_rows.tolist()], dtype=bool)
    if len(test_rows) == 0:
        keep = np.zeros(0, dtype=bool)
    return test_rows[keep], test_rows[~keep]


def make_split(
    datasets: np.ndarray | Sequence[str],
    texts: Sequence[str],
    seed: int,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    ood: Sequence[str] = (),
) -> Split:
    """Split rows per dataset by unique text (see the module docstring).

    ``valid_fraction`` is a fraction of each dataset's train units. Datasets in ``ood`` go
    wholly to test (and their texts found in train are dropped from test like any duplicate).
    """
    _check_fractions(test_fraction, valid_fraction)
    ds = np.asarray(datasets, dtype=object)
    if len(ds) != len(texts):
        raise SplitError(f"{len(ds)} dataset labels for {len(texts)} texts")
    names = list(dict.fromkeys(ds.tolist()))
    unknown = sorted(set(ood) - set(names))
    if unknown:
        raise SplitError(
            f"--ood dataset(s) {', '.join(unknown)} not in the bench; datasets: {', '.join(names)}"
        )
    if ood and set(ood) == set(names):
        raise SplitError("every dataset is --ood: nothing is left to train on")
    train: list[int] = []
    valid: list[int] = []
    test: list[int] = []
    duplicate_rows = 0
    for name in names:
        rows = np.flatnonzero(ds == name)
        units = _units(rows, texts)
        duplicate_rows += sum(len(g) for g in units.values() if len(g) > 1)
        if name in ood:
            test.extend(rows.tolist())
            continue
        order = _ordered(units, seed, name)
        n_test = int(round(test_fraction * len(order)))
        n_valid = int(round(valid_fraction * (len(order) - n_test)))
        for i, text in enumerate(order):
            part = test if i < n_test else valid if i < n_test + n_valid else train
            part.extend(units[text])
    fit = np.array(sorted(train + valid), dtype=np.int64)
    test_rows, dropped = _drop_cross_split(texts, fit, np.array(sorted(test), dtype=np.int64))
    return Split(
        seed=seed,
        train=np.array(sorted(train), dtype=np.int64),
        valid=np.array(sorted(valid), dtype=np.int64),
        test=test_rows,
        dropped=dropped,
        ood=tuple(ood),
        duplicate_rows=duplicate_rows,
    )


def split_from_source(
    datasets: np.ndarray | Sequence[str],
    texts: Sequence[str],
    source_splits: Sequence[str | None],
    seed: int,
    *,
    valid_fraction: float = DEFAULT_VALID_FRACTION,
    ood: Sequence[str] = (),
) -> Split:
    """Keep a source's own train/test assignment (``source_split`` of each query), carve valid
    from its train per dataset, and drop test rows whose text is also in train.

    Out-of-distribution datasets go wholly to test whatever their rows are labelled: those named
    in ``ood`` and those the source gives no train/valid rows at all (test-only files, with a
    ``test`` label or none). A query without a split label is allowed only there; elsewhere it
    is an error naming the dataset. ``Split.ood`` lists both kinds.
    """
    _check_fractions(0.5, valid_fraction)
    ds = np.asarray(datasets, dtype=object)
    if len(ds) != len(texts) or len(ds) != len(source_splits):
        raise SplitError(f"{len(ds)} dataset labels, {len(texts)} texts and "
                         f"{len(source_splits)} source splits: they must match")
    names = list(dict.fromkeys(ds.tolist()))
    unknown = sorted(set(ood) - set(names))
    if unknown:
        raise SplitError(
            f"--ood dataset(s) {', '.join(unknown)} not in the bench; datasets: {', '.join(names)}"
        )
    bad = sorted({str(s) for s in source_splits
                  if s is not None and s not in ("train", "test", "valid", "dev")})
    if bad:
        raise SplitError(
            f"--split source needs every query's source split to be train/valid/dev/test; "
            f"found {', '.join(bad)} (this bench has no usable source split: use --split protocol)"
        )
    src = np.asarray(source_splits, dtype=object)
    fit_label = np.isin(src, ["train", "valid", "dev"])
    test_only = [d for d in names if d not in ood and not fit_label[ds == d].any()]
    held_out = [d for d in names if d in ood or d in test_only]
    if len(held_out) == len(names):
        raise SplitError("no dataset has train rows in its source split (every dataset is "
                         "test-only or --ood): nothing is left to train on")
    unlabelled = sorted({str(d) for d, s in zip(ds.tolist(), src.tolist(), strict=True)
                         if s is None and d not in held_out})
    if unlabelled:
        raise SplitError(
            f"--split source: dataset(s) {', '.join(unlabelled)} mix rows with and without a "
            "split label; label every row (file suffix _train/_test) or use --split protocol"
        )
    train: list[int] = []
    valid: list[int] = []
    for name in names:
        if name in held_out:
            continue
        rows = np.flatnonzero((ds == name) & fit_label)
        units = _units(rows, texts)
        order = _ordered(units, seed, name, "valid")
        n_valid = int(round(valid_fraction * len(order)))
        for i, text in enumerate(order):
            (valid if i < n_valid else train).extend(units[text])
    fit = np.array(sorted(train + valid), dtype=np.int64)
    is_test = (src == "test") | np.isin(ds, held_out)
    test_rows, dropped = _drop_cross_split(texts, fit, np.flatnonzero(is_test))
    return Split(
        seed=seed,
        train=np.array(sorted(train), dtype=np.int64),
        valid=np.array(sorted(valid), dtype=np.int64),
        test=test_rows,
        dropped=dropped,
        ood=tuple(held_out),
        source="source",
    )


def cross_split_duplicates(
    texts: Sequence[str], rows_a: np.ndarray, rows_b: np.ndarray
) -> np.ndarray:
    """Rows of ``rows_b`` whose exact text also occurs among ``rows_a``."""
    seen = {texts[r] for r in np.asarray(rows_a).tolist()}
    return np.array([r for r in np.asarray(rows_b).tolist() if texts[r] in seen], dtype=np.int64)
