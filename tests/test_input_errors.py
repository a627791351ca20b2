"""Careless input gets one clear line (file, record, field, value), exit code 2, nothing stored,
no secret echoed, and no name from a file steers a write outside its folder.

The CLI runs in-process (typer's runner) with the toy dataset plugin and the real OpenAI
backend; a loopback server stands in for the API where a run would reach it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.data.store import Store
from routerbench_core.schema import Grade, ModelSpec, Query, Response
from routerbench_core.testing.openai_server import OpenAIServer

_spec = importlib.util.spec_from_file_location(
    "rbench_test_collect_support", Path(__file__).with_name("test_collect_support.py"))
assert _spec and _spec.loader
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    host = support.make_host()
    result = CliRunner().invoke(build_app(host), list(args), obj=State(host=host), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback instead of an error: {result.exception!r}\n"
                             f"{result.output}") from result.exception
    return result.exit_code, result.output


def error_line(output: str) -> str:
    errors = [ln for ln in output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


# -- run configs and options ----------------------------------------------------------------


def _config(tmp_path: Path, model: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(f"models:\n  - {{name: toy, {model}}}\n"
                    "datasets:\n  - {name: toyadd, options: {n: 3}}\n")
    return path


@pytest.mark.parametrize(("model", "expected"), [
    ("base_url: 'not a url', input_price: 1, output_price: 1",
     "models[0].base_url: 'not a url' is not a URL"),
    ("base_url: 'ftp://127.0.0.1/v1', input_price: 1, output_price: 1",
     "models[0].base_url: 'ftp://127.0.0.1/v1' uses ftp://"),
    ("base_url: 'http://:8000/v1', input_price: 1, output_price: 1", "has no host"),
    ("base_url: 'http://127.0.0.1:x/v1', input_price: 1, output_price: 1", "not a valid URL"),
    ("base_url: 'http://127.0.0.1:9/v1', free: true, input_price: 1, output_price: 1",
     "free: true says this model costs $0, but input_price, output_price"),
    ("base_url: 'http://127.0.0.1:9/v1', free: true, gpu_hour_price: 2", "gpu_hour_price"),
    ("base_url: 'http://127.0.0.1:9/v1'", "no price"),
])
def test_refused_config_is_one_line_and_creates_no_store(tmp_path, model, expected):
    config = _config(tmp_path, model)
    db = tmp_path / "s.db"
    code, out = cli("collect", "--config", str(config), "--store", str(db), "--no-progress")
    assert code == 2
    line = error_line(out)
    assert expected in line and ("run.yaml" in line or "models[0]" in line)
    assert not db.exists(), "a refused run created a store file"


def test_secret_given_as_variable_name_is_never_echoed(tmp_path):
    secret = "sk-proj-Zx81SECRETvalue0000aaaa"
    db = tmp_path / "s.db"
    config = _config(tmp_path, f"base_url: 'http://127.0.0.1:9/v1', api_key: '{secret}', "
                               "input_price: 1, output_price: 1")
    code, out = cli("collect", "--config", str(config), "--store", str(db))
    assert code == 2 and secret not in out and secret[3:12] not in out
    assert "models[0].api_key" in error_line(out) and "environment variable" in out
    code, out = cli("collect", "-m", "toy", "-d", "toyadd", "--base-url", "http://127.0.0.1:9/v1",
                    "--api-key-env", secret, "--input-price", "1", "--output-price", "1",
                    "--store", str(db))
    assert code == 2 and secret not in out and "api_key_env" in error_line(out)
    code, out = cli("--store", str(db), "grade", "--judge-model", "j",
                    "--judge-api-key-env", secret)
    assert code == 2 and secret not in out and "--judge-api-key-env" in error_line(out)
    assert not db.exists()


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--concurrency", "0", "--concurrency 0:"),
    ("--limit", "-3", "--limit -3:"),
    ("--bench", "..", "invalid bench name '..'"),
    ("--bench", "a/b", "invalid bench name 'a/b'"),
])
def test_bad_cli_options_are_one_line(tmp_path, option, value, expected):
    db = tmp_path / "s.db"
    config = _config(tmp_path, "base_url: 'http://127.0.0.1:9/v1', input_price: 1, "
                               "output_price: 1")
    code, out = cli("collect", "--config", str(config), "--store", str(db), option, value)
    assert code == 2 and expected in error_line(out)
    assert not db.exists()


def test_a_refused_run_asks_nothing_and_an_accepted_one_works(tmp_path):
    """The refusals above happen before any request: the same config with a price works."""
    with OpenAIServer(reply=support.toy_reply) as server:
        db = tmp_path / "s.db"
        bad = _config(tmp_path, f"base_url: '{server.url}'")
        assert cli("collect", "--config", str(bad), "--store", str(db))[0] == 2
        assert server.count() == 0 and not db.exists()
        good = _config(tmp_path, f"base_url: '{server.url}', input_price: 1, output_price: 1")
        code, out = cli("collect", "--config", str(good), "--store", str(db), "--no-progress")
        assert code == 0, out
        assert server.count() == 3


# -- importers -------------------------------------------------------------------------------

CSV = ('"",sample_id,prompt,eval_name,m1,m1|model_response,m1|total_cost\n'
       "0,a,\"['what is 1+1?']\",toy,1.0,\"['2']\",0.001\n"
       "1,b,\"['what is 2+2?']\",toy,0.0,\"['5']\",0.002\n")


def test_routerbench_csv_with_a_byte_order_mark_imports(tmp_path):
    path = tmp_path / "rb.csv"
    path.write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    db = tmp_path / "s.db"
    code, out = cli("--store", str(db), "data", "import", "routerbench", str(path), "-n", "x")
    assert code == 0, out
    with Store(db) as s:
        assert {r.query_key for r in s.responses("x")} == {"toy/0", "toy/1"}
        assert sorted(g.score for g in s.grades("x")) == [0.0, 1.0]


def test_routerbench_csv_with_non_utf8_bytes_names_file_line_and_byte(tmp_path):
    path = tmp_path / "rb.csv"
    path.write_bytes(CSV.encode().replace(b"what is 2+2?", b"caf\xe9 2+2?"))
    db = tmp_path / "s.db"
    code, out = cli("--store", str(db), "data", "import", "routerbench", str(path), "-n", "x")
    assert code == 2
    line = error_line(out)
    assert str(path) in line and "line 3" in line and "e9" in line and "UTF-8" in line
    assert not db.exists()


def _bench(db: Path, name: str, *, dataset: str, split: str | None, model: str) -> None:
    with Store(db) as s:
        s.ensure_bench(name)
        with s.transaction() as conn:
            s.add_queries(name, [Query(dataset=dataset, id=str(i), text=f"q{i}",
                                       source_split=split) for i in range(2)], conn=conn)
            s.add_models(name, [ModelSpec(name=model, input_price=1, output_price=1)], conn=conn)
        keys = [q.key for q in s.queries(name)]
        s.put_responses(name, [Response(query_key=k, model=model, raw_output="1", cost=0.1)
                               for k in keys])
        s.put_grades(name, [Grade(query_key=k, model=model, score=1.0, grader="g",
                                  grader_version="1") for k in keys])


def test_parquet_import_refuses_a_grade_with_no_response(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    db = tmp_path / "s.db"
    _bench(db, "b", dataset="d", split=None, model="m")
    out = tmp_path / "pq"
    assert cli("--store", str(db), "data", "export", "b", "parquet", str(out))[0] == 0
    responses = pq.read_table(out / "responses.parquet")
    pq.write_table(responses.slice(1), out / "responses.parquet")  # drop one answer
    code, text = cli("--store", str(tmp_path / "t.db"), "data", "import", "parquet", str(out),
                     "-n", "c")
    assert code == 2
    line = error_line(text)
    assert "grades.parquet" in line and "orphan" in line and "d/0" in line
    assert not (tmp_path / "t.db").exists()


# -- names that reach file paths --------------------------------------------------------------

HOSTILE = ["..", "../../escape", "/tmp/abs", "a/b", "a\\b", ".hidden", "nul\x00byte", ""]


@pytest.mark.parametrize("name", [n for n in HOSTILE if n])
def test_export_never_writes_outside_its_folder(tmp_path, name):
    (tmp_path / "db").mkdir()
    db = tmp_path / "db" / "s.db"
    _bench(db, "b", dataset=name, split=name, model=name)
    _bench(db, "b2", dataset="plain", split="test", model="plain")
    work = tmp_path / "w"
    root = work / "deep" / "er" / "out"
    root.mkdir(parents=True)
    code, out = cli("--store", str(db), "data", "export", "b", "llmrouterbench", str(root))
    assert code == 0, out
    files = [p for p in work.rglob("*") if p.is_file()]
    assert len(files) == 1, files  # one dataset × split × model
    assert root.resolve() in files[0].resolve().parents, files[0]
    assert set(tmp_path.iterdir()) == {tmp_path / "db", work}
    assert not Path("/tmp/abs").exists() and not (tmp_path.parent / "escape").exists()
    doc = json.loads(files[0].read_text())
    assert (doc["dataset_name"], doc["split"], doc["model_name"]) == (name, name, name)
    # and the exact names come back on import
    code, out = cli("--store", str(tmp_path / "t.db"), "data", "import", "llmrouterbench",
                    str(root), "-n", "back")
    assert code == 0, out
    with Store(tmp_path / "t.db") as s:
        assert [m.name for m in s.models("back")] == [name]
        assert {q.dataset for q in s.queries("back")} == {name}


def test_escaped_names_never_share_a_folder(tmp_path):
    from routerbench_core.data.paths import path_component

    names = ["a/b", "a_b", "a\\b", "..", "_", ".", "a b", "plain"]
    parts = [path_component(n) for n in names]
    assert len(set(parts)) == len(parts)
    for p in parts:
        assert p not in (".", "..") and "/" not in p and "\\" not in p and "\x00" not in p
    assert path_component("plain") == "plain"


@pytest.mark.parametrize(("repo", "subdir", "expected"), [
    ("../x", None, "repository owner '..'"),
    ("/etc/passwd", None, "repository owner ''"),
    ("owner/..", None, "repository name '..'"),
    ("a/b/c", None, "repository name 'b/c'"),
    ("a\x00b/c", None, "NUL"),
    ("noslash", None, "owner/name"),
    ("owner/name", "../../etc", "must not contain '..'"),
    ("owner/name", "/etc", "must be a relative path"),
    ("owner/name", "a\x00b", "NUL"),
])
def test_fetch_checks_names_before_any_download(tmp_path, repo, subdir, expected):
    args = ["--store", str(tmp_path / "s.db"), "data", "fetch", repo, "-f", "llmrouterbench",
            "-n", "x"]
    if subdir is not None:
        args += ["--subdir", subdir]
    code, out = cli(*args, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert code == 2
    line = error_line(out)
    assert expected in line and "HF_HUB_OFFLINE" not in line  # refused before the hub is asked
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "a\\b", "x\x00y", "tab\there"])
def test_bench_names_that_cannot_be_paths_are_refused(tmp_path, name, rbench_store):
    from routerbench_core.data.store import StoreError

    with pytest.raises(StoreError, match="invalid bench name"):
        rbench_store.create_bench(name)


# -- route ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "target", "expected"), [
    ("--json", "/nonexistent/x.json", "folder /nonexistent does not exist"),
    ("--plot", "/nonexistent/p.png", "folder /nonexistent does not exist"),
    ("--json", ".", "is a folder"),
])
def test_route_checks_output_paths_before_evaluating(tmp_path, option, target, expected):
    from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix

    db = tmp_path / "r.db"
    with Store(db) as s:
        store_matrix(s, make_synthetic_bench(seed=1, queries_per_cluster=5).matrix)
    code, out = cli("--store", str(db), "route", "-r", "best-single", "--bench", "synthetic",
                    "--seeds", "42", option, target)
    assert code == 2
    assert expected in error_line(out) and option in error_line(out)
    assert "AvgAcc" not in out and "best-single" not in out.replace(error_line(out), "")


def test_import_with_a_lone_surrogate_names_model_query_and_field(tmp_path):
    folder = tmp_path / "rel" / "results" / "bench" / "aime" / "test" / "m"
    folder.mkdir(parents=True)
    records = [{"index": i, "origin_query": f"q{i}", "prompt": f"q{i}", "prediction": "1",
                "ground_truth": "1", "score": 1.0, "prompt_tokens": 5, "completion_tokens": 7,
                "cost": 0.01, "raw_output": "ok \udcff" if i == 1 else "ok"} for i in range(3)]
    (folder / "m_20250101_120000.json").write_text(json.dumps(  # JSON escapes the surrogate
        {"dataset_name": "aime", "split": "test", "model_name": "m", "records": records}))
    db = tmp_path / "s.db"
    code, out = cli("--store", str(db), "data", "import", "llmrouterbench",
                    str(tmp_path / "rel"), "-n", "x")
    assert code == 2
    line = error_line(out)
    assert "model 'm'" in line and "/1'" in line and "raw_output" in line
    assert "nothing was stored" in line and not db.exists()
