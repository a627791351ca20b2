"""bench/grading_agreement.py runs on the real RouterBench answers and reads their letters.

A smoke test of the script on the smallest real set (WinoGrande test, 380 items × 11 models):
if rbench's letter reading regressed on real answers, the agreement would drop.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from routerbench_core.testing import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("grading_agreement", ROOT / "bench" / "grading_agreement.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shared_data_dir() is None or not (shared_data_dir() / "routerbench-subset").is_dir(),
                    reason="needs ../shared/data/routerbench-subset (RBENCH_SHARED_DATA)")
def test_letters_of_real_answers_agree_with_published_grades(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RBENCH_SHARED_DATA", str(shared_data_dir()))
    out = tmp_path / "agreement.json"
    assert _script().main(["--datasets", "winogrande", "--splits", "test", "--show", "3",
                           "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    cells = result["summary"]["winogrande"]
    assert len(cells) == 11
    agree = sum(c["agree"] for c in cells.values())
    total = sum(c["n"] for c in cells.values())
    assert total > 4000 and agree / total > 0.99
    assert "winogrande:" in capsys.readouterr().out
