"""Shared dataset helpers: local data files, the hub fallback error, TemplateDataset grading."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from routerbench_core.schema import Query, Response
from routerbench_core.scoring import extract_final_answer, math_equal
from routerbench_core.scoring.datasets import (
    DatasetError,
    HubSource,
    TemplateDataset,
    ensure_gradable,
    load_records,
    read_records,
)


def test_read_jsonl_json_gz_csv(tmp_path: Path) -> None:
    rows = [{"id": "a", "x": 1}, {"id": "b", "x": 2}]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "d.json").write_text(json.dumps({"data": rows}))
    (tmp_path / "m.json").write_text(json.dumps({"a": {"x": 1}, "b": {"x": 2}}))
    with gzip.open(tmp_path / "d.jsonl.gz", "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "d.csv").write_text("id,x\na,1\nb,2\n")
    assert read_records(tmp_path / "d.jsonl") == rows
    assert read_records(tmp_path / "d.json") == rows
    assert read_records(tmp_path / "m.json") == [{"id": "a", "x": 1}, {"id": "b", "x": 2}]
    assert read_records(tmp_path / "d.jsonl.gz") == rows
    assert read_records(tmp_path / "d.csv") == [{"id": "a", "x": "1"}, {"id": "b", "x": "2"}]


def test_read_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"id": "a", "x": 1}]), tmp_path / "d.parquet")
    assert read_records(tmp_path / "d.parquet") == [{"id": "a", "x": 1}]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"id": 1}\n{oops\n', r"bad\.jsonl, line 2: not valid JSON"),
        ("list.jsonl", "[1, 2]\n", r"line 1: expected a JSON object, got list"),
        ("bad.json", '{"data": [1]}', r"record 0 is int"),
        ("scalar.json", "3", r"expected a JSON list"),
        ("data.txt", "hello", r"unknown format"),
    ],
)
def test_read_errors_name_file_and_place(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_records(tmp_path / name)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        read_records(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="is a folder"):
        read_records(tmp_path)


def test_no_file_and_no_hub_library_is_a_clear_error() -> None:
    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("the `datasets` library is installed; this checks the error without it")
    with pytest.raises(DatasetError, match=r"--data-file PATH.*pip install"):
        load_records(None, hub_id="org/repo", hub_revision="abc", dataset_name="demo")
    with pytest.raises(DatasetError, match="no public hub repository"):
        load_records(None, hub_id=None, hub_revision=None, dataset_name="demo")


class _Arith(TemplateDataset):
    name = "arith"
    category = "math"
    size = 2
    prompt_template = "Solve: {question}\nPut the answer in \\boxed{{}}."
    required_fields = ("q", "a")

    def to_query(self, record: dict[str, Any], index: int) -> Query:
        return Query(dataset=self.name, id=str(record.get("id", index)), text=record["q"],
                     ground_truth=str(record["a"]))

    def extract(self, output: str, query: Query) -> Any:
        return extract_final_answer(output)[0]

    def score(self, prediction: Any, query: Query) -> Any:
        ok = math_equal(prediction, query.ground_truth)
        return (1.0 if ok else 0.0), {"checked": True}


def _write(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "arith.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_template_dataset_load_prompt_grade(tmp_path: Path) -> None:
    ds = _Arith()
    path = _write(tmp_path, [{"id": "1", "q": "1+1", "a": 2}, {"id": "2", "q": "2*3", "a": 6}])
    queries = ds.load(path)
    assert [q.key for q in queries] == ["arith/1", "arith/2"]
    assert ds.load(path, limit=1) == queries[:1]
    assert ds.build_messages(queries[0]) == [
        {"role": "user", "content": "Solve: 1+1\nPut the answer in \\boxed{}."}
    ]
    good = ds.grade(queries[0], Response(query_key="arith/1", model="m", raw_output="\\boxed{2}"))
    assert (good.score, good.prediction, good.grader, good.grader_version) == (1.0, "2", "arith", "1")
    assert good.details == {"checked": True}
    bad = ds.grade(queries[1], Response(query_key="arith/2", model="m", raw_output="\\boxed{5}"))
    assert bad.score == 0.0
    none = ds.grade(queries[1], Response(query_key="arith/2", model="m", raw_output="no idea"))
    assert (none.score, none.prediction, none.details) == (0.0, None, {"reason": "no answer found"})
    assert [g.score for g in ds.grade_many([(queries[0], Response(
        query_key="arith/1", model="m", raw_output="2"))])] == [1.0]


def test_template_dataset_errors(tmp_path: Path) -> None:
    ds = _Arith()
    with pytest.raises(DatasetError, match=r"record 1 lacks field\(s\) a"):
        ds.load(_write(tmp_path, [{"q": "1", "a": 1}, {"q": "2"}]))
    with pytest.raises(DatasetError, match="share the id '1'"):
        ds.load(_write(tmp_path, [{"id": 1, "q": "1", "a": 1}, {"id": 1, "q": "2", "a": 2}]))
    with pytest.raises(DatasetError, match="no arith items"):
        ds.load(_write(tmp_path, []))


def test_failed_responses_are_refused() -> None:
    failed = Response(query_key="arith/1", model="m", error="HTTP 500")
    with pytest.raises(DatasetError, match="failed call"):
        ensure_gradable(failed)
    query = Query(dataset="arith", id="1", text="1+1", ground_truth="2")
    with pytest.raises(DatasetError, match="failed call"):
        _Arith().grade(query, failed)
    with pytest.raises(DatasetError, match="no output"):
        _Arith().grade(query, Response(query_key="arith/1", model="m"))


class _FakeHubLibrary:
    """Stands in for the Hugging Face ``datasets`` module (tests have no network): records
    every ``load_dataset`` call and serves rows per (repo, config, split, revision)."""

    def __init__(self, tables: dict[tuple[str, str | None, str], list[dict[str, Any]]]) -> None:
        self.tables = tables
        self.calls: list[tuple[str, str | None, str, str | None]] = []

    def load_dataset(self, repo: str, config: str | None = None, *, split: str,
                     revision: str | None = None) -> list[dict[str, Any]]:
        self.calls.append((repo, config, split, revision))
        try:
            return self.tables[(repo, config, split)]
        except KeyError:
            raise FileNotFoundError(f"no split {split} in {repo}") from None


class _TwoTables(_Arith):
    hub_sources = (
        HubSource("org/part-a", "aaa111", "train"),
        HubSource("org/part-b", "bbb222", "test", "cfg"),
    )


def test_hub_sources_are_read_in_order_and_tagged(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeHubLibrary({
        ("org/part-a", None, "train"): [{"id": "a1", "q": "1+1", "a": 2}],
        ("org/part-b", "cfg", "test"): [{"id": "b1", "q": "2+2", "a": 4}],
    })
    monkeypatch.setitem(sys.modules, "datasets", fake)
    queries = _TwoTables().load()
    assert [(q.id, q.source_split) for q in queries] == [("a1", "train"), ("b1", "test")]
    assert fake.calls == [("org/part-a", None, "train", "aaa111"),
                          ("org/part-b", "cfg", "test", "bbb222")]
    _TwoTables(revision="ccc333").load()
    assert [c[3] for c in fake.calls[2:]] == ["ccc333", "ccc333"]


def test_hub_failure_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", _FakeHubLibrary({}))
    with pytest.raises(DatasetError, match=r"cannot load org/part-a .*--data-file"):
        _TwoTables().load()
