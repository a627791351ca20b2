"""Each metric on small hand-computed cases, and the paper's Table 7 relations."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from routerbench_core.report import metrics as M


def test_gains():
    assert M.gain_r(0.6, 0.5) == pytest.approx(0.2)
    assert M.gain_b(0.6, 0.75) == pytest.approx(-0.2)
    assert M.gap_o(0.6, 0.8) == pytest.approx(0.25)


def test_perf_gain_and_cost_save():
    costs, accs = [1.0, 4.0, 9.0], [0.5, 0.72, 0.80]
    assert M.perf_gain(accs, 0.75) == pytest.approx(0.80 / 0.75 - 1)
    # only the 9.0 point reaches 0.75; B costs 10 -> save 10%
    assert M.cost_save(costs, accs, 0.75, 10.0) == pytest.approx(0.1)
    assert M.cost_save(costs, accs, 0.70, 10.0) == pytest.approx(0.6)
    assert M.cost_save(costs, accs, 0.81, 10.0) is None  # N/A
    # equal accuracy counts as reaching B
    assert M.cost_save([5.0], [0.75], 0.75, 10.0) == pytest.approx(0.5)


def test_pareto_frontier():
    c = [1, 2, 3, 2, 4, 1]
    a = [0.5, 0.7, 0.7, 0.6, 0.9, 0.5]
    # (3, .7) dominated by (2, .7); (2, .6) by (2, .7); the two (1, .5) are equal: both kept
    assert M.pareto_frontier(c, a).tolist() == [True, True, False, False, True, True]


def test_pareto_ratio_and_dist():
    # others: frontier (0,0) -> (10,1) in normalised space is the diagonal
    others_c, others_a = [0.0, 10.0], [0.0, 1.0]
    assert M.pareto_ratio([5.0], [0.5], others_c, others_a) == 1.0  # dominated by neither
    assert M.pareto_dist([5.0], [0.5], others_c, others_a) == pytest.approx(0.0)
    # (5, 0) is dominated by (0, 0); at normalised (.5, 0) it lies .5/sqrt2 from the segment
    assert M.pareto_ratio([5.0], [0.0], others_c, others_a) == 0.0
    assert M.pareto_dist([5.0], [0.0], others_c, others_a) == pytest.approx(0.5 / math.sqrt(2))
    # mean over two points: one on it, one off
    d = M.pareto_dist([5.0, 10.0], [0.0, 1.0], others_c, others_a)
    assert d == pytest.approx(0.25 / math.sqrt(2))
    assert M.pareto_ratio([5.0, 10.0], [0.0, 1.0], others_c, others_a) == 0.5


def test_apgr_and_cpt():
    weak, strong = (0.0, 0.4), (10.0, 0.8)
    # a router reaching PGR .5 at normalised cost .2 and 1.0 at .6
    costs, accs = [2.0, 6.0], [0.6, 0.8]
    # budget [0,.2): 0 ; [.2,.6): .5 ; [.6,1]: 1 -> area .2 + .4
    assert M.apgr(costs, accs, weak, strong) == pytest.approx(0.5 * 0.4 + 1.0 * 0.4)
    assert M.cpt(costs, accs, weak, strong) == pytest.approx(0.2)
    assert M.cpt(costs, accs, weak, strong, target=0.9) == pytest.approx(0.6)
    assert M.cpt([2.0], [0.5], weak, strong) is None
    # the straight line between weak and strong (random mixing) has APGR 1/2 in the limit
    xs = np.linspace(0, 10, 1001)
    assert M.apgr(xs, 0.4 + 0.04 * xs, weak, strong) == pytest.approx(0.5, abs=2e-3)
    assert M.apgr(costs, accs, strong, weak) is None


def test_aiq():
    # one point at (0, .5) over [0, 10]: flat .5 everywhere
    assert M.aiq([0.0], [0.5], 0.0, 10.0) == pytest.approx(0.5)
    # two points (0, 0) and (10, 1): area of the triangle = .5
    assert M.aiq([0.0, 10.0], [0.0, 1.0]) == pytest.approx(0.5)
    # a point under the hull changes nothing; a point past the best keeps the curve flat
    assert M.aiq([0.0, 5.0, 10.0, 20.0], [0.0, 0.2, 1.0, 0.9], 0.0, 20.0) == pytest.approx(
        (0.5 * 10 + 1.0 * 10) / 20)
    # nothing before the cheapest point
    assert M.aiq([5.0], [1.0], 0.0, 10.0) == pytest.approx(0.5)
    # concave hull: (0,0),(2,.8),(10,1) -> .8*2/2 + (.8+1)/2*8 = .8 + 7.2 = 8 over 10
    assert M.aiq([0.0, 2.0, 10.0, 5.0], [0.0, 0.8, 1.0, 0.7]) == pytest.approx(0.8)


def test_summarise():
    s = M.summarise([0.5, 0.7, 0.6])
    assert s.mean == pytest.approx(0.6) and s.n == 3
    assert 0.5 <= s.ci_low <= s.mean <= s.ci_high <= 0.7
    assert M.summarise([0.5, 0.7, 0.6]) == s  # seeded bootstrap: reproducible
    assert M.summarise([None, 0.3]) == M.Summary(0.3, 0.3, 0.3, 1)
    assert M.summarise([None]).mean is None
    wide = M.summarise([0.0, 1.0] * 5)
    assert wide.ci_high - wide.ci_low > 0.3


def test_routing_distribution():
    d = M.routing_distribution(np.array([0, 0, 2, 2, 2, 1]), ["a", "b", "c"])
    assert d == {"a": pytest.approx(1 / 3), "b": pytest.approx(1 / 6), "c": pytest.approx(0.5)}


def test_table7_relations_hold(shared_paper):
    """Table 7's gains follow from its accuracies with the reference rows as R, B, O.

    (The paper's "ImpMax" divides by its "Max Expert" row, the dataset oracle; rbench's Gain@B
    divides by the best single model chosen on train — same formula, other reference.)
    """
    with open(shared_paper / "llmrouterbench_table7_perf_routers.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by = {r["method"]: float(r["Acc"]) for r in rows}
    acc_r, acc_b, acc_o = by["Random Router"], by["Max Expert"], by["Oracle"]
    for r in rows:
        acc = float(r["Acc"])
        assert M.gain_r(acc, acc_r) == pytest.approx(float(r["ImpRand"]), abs=1.5e-3), r
        assert M.gain_b(acc, acc_b) == pytest.approx(float(r["ImpMax"]), abs=1.5e-3), r
        assert M.gap_o(acc, acc_o) == pytest.approx(float(r["OracleGap"]), abs=1.5e-3), r


@pytest.fixture
def shared_paper(shared_data):
    path = shared_data.parent / "paper"
    if not (path / "llmrouterbench_table7_perf_routers.csv").is_file():
        pytest.skip(f"paper tables not found at {path}")
    return path
