"""The command line as a new user meets it: tables readable at 80 columns and in a pipe,
`rbench plugins` with a header, --version, flags shown as flags, examples in every command's
help, shell completion, typos in registered targets caught, one error for a missing GPU.
All in-process (routerbench_core.testing.run_cli), with real installed distributions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from routerbench_core import __version__
from routerbench_core.testing import run_cli

sys.path.insert(0, str(Path(__file__).parent))
from fakedist import install_fake_dist  # noqa: E402

LONG_STATUS_PLUGIN = """
from routerbench_core import hookimpl

@hookimpl
def register_routers(register):
    register("needs-much", "long_impl:Router",
             "a router whose summary is long enough to need cutting at eighty columns, and "
             "then some more words so that two lines are not enough for all of it either",
             requires=["no_such_dependency_alpha", "no_such_dependency_beta"])
    register("typo-target", "long_impl:Rooter", "its target has a typo")
"""
LONG_IMPL = """
class Router:
    pass
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return install_fake_dist(tmp_path / "site", "rbench-router-needs-much",
                             {"long_plugin": LONG_STATUS_PLUGIN, "long_impl": LONG_IMPL},
                             {"needs-much": "long_plugin"})


def _column_text(lines: list[str], header: str, start: str, end: str | None) -> dict[str, str]:
    """Cell text of column ``start`` (up to column ``end``) per row, wrapped lines joined."""
    head = lines.index(header)
    a = header.index(start)
    b = header.index(end) if end else None
    rows: dict[str, list[str]] = {}
    current = None
    for line in lines[head + 1:]:
        if not line.strip():
            break
        if line[0] != " ":
            current = line.split()[0]  # the name, first column
            rows[current] = []
        assert current is not None
        rows[current].append(line[a:b].strip())
    return {name: " ".join(p for p in parts if p) for name, parts in rows.items()}


@pytest.mark.parametrize("columns", ["80", "120", "200"])
def test_list_routers_shows_every_status_in_full(site: Path, columns: str) -> None:
    result = run_cli("list", "routers", sites=[site], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(columns)
    header = next(line for line in lines if line.startswith("name "))
    following = "distribution" if "distribution" in header else "summary"
    statuses = _column_text(lines, header, "status", following)
    expected = {r["name"]: r["status"] for r in json.loads(
        run_cli("list", "routers", "--json", sites=[site]).stdout)}
    assert statuses == expected, "every router, each with its whole status"
    assert expected["needs-much"] == ("missing dependency: no_such_dependency_alpha, "
                                      "no_such_dependency_beta")
    after = header.split()[header.split().index("summary") + 1:]
    summaries = _column_text(lines, header, "summary", after[0] if after else None)
    assert summaries["needs-much"].startswith("a router whose summary is long enough")
    assert summaries["needs-much"].endswith("…"), "abbreviated to two lines, marked"
    assert "either" not in summaries["needs-much"]


def test_list_json_is_unabridged_and_plugins_has_a_header(site: Path) -> None:
    rows = json.loads(run_cli("list", "--json", sites=[site]).stdout)
    [row] = [r for r in rows if r["name"] == "needs-much"]
    assert row["summary"].endswith("all of it either")
    assert {r["kind"] for r in rows} >= {"backend", "dataset", "router", "embedder", "importer"}

    plugins = run_cli("plugins", sites=[site], env={"COLUMNS": "80"})
    assert plugins.exit_code == 0, plugins.output
    lines = plugins.stdout.splitlines()
    assert lines[0].split() == ["plugin", "distribution", "version", "status", "hooks"]
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("needs-much ") and "rbench-router-needs-much" in line
               for line in lines)


def test_list_json_fast_path_prints_what_the_command_prints(site: Path, tmp_path: Path) -> None:
    for kind in ([], ["routers"], ["importers"]):
        fast = run_cli("list", *kind, "--json", sites=[site])  # answered without the CLI
        full = run_cli("--store", tmp_path / "s.db", "list", *kind, "--json", sites=[site])
        assert fast.exit_code == full.exit_code == 0
        assert fast.stdout == full.stdout and json.loads(fast.stdout)


def test_a_typo_in_a_registered_target_fails_check_and_strict_mode(site: Path) -> None:
    relaxed = run_cli("list", "--json", sites=[site])
    assert relaxed.exit_code == 0, "not strict: listing never imports targets"

    check = run_cli("plugins", "--check", "needs-much", sites=[site])
    assert check.exit_code == 1
    assert "router 'typo-target'" in check.stdout and "long_impl:Rooter" in check.stdout
    assert "router 'needs-much'" in check.stdout and "no_such_dependency_alpha" in check.stdout
    problems = json.loads(run_cli("plugins", "--check", "--json", "rbench-router-needs-much",
                                  sites=[site]).stdout)["problems"]
    assert {p["name"] for p in problems} == {"typo-target", "needs-much"}
    assert {p["name"]: p["missing_dependency"] for p in problems} == {
        "typo-target": False, "needs-much": True}

    strict = run_cli("list", sites=[site], env={"RBENCH_STRICT_PLUGINS": "1"})
    assert strict.exit_code == 2
    assert "'typo-target'" in strict.stderr and "did you mean long_impl:Router?" in strict.stderr
    assert "long_impl" not in sys.modules, "strict mode finds the typo without importing"


def test_installed_plugins_have_no_target_typos() -> None:
    from routerbench_core.plugins.manager import make_plugin_manager

    assert make_plugin_manager().target_problems() == []
    strict = run_cli("list", "--json", env={"RBENCH_STRICT_PLUGINS": "1"})
    assert strict.exit_code == 0, strict.stderr


@pytest.mark.slow  # imports every installed plugin's implementation (torch and all): ~10 s
def test_installed_plugins_pass_check() -> None:
    result = run_cli("plugins", "--check", "--json")
    problems = json.loads(result.stdout)["problems"]
    # a target may only fail for a dependency this machine lacks, never for a wrong name
    assert all("not installed" in p["problem"] and p["missing_dependency"]
               for p in problems), problems
    assert result.exit_code == 0, "a missing optional dependency is not a failure"


def test_version_completion_and_flags_in_help() -> None:
    version = run_cli("--version")
    assert (version.exit_code, version.stdout.strip()) == (0, f"rbench {__version__}")
    root = run_cli("--help", env={"COLUMNS": "100"})
    assert "--install-completion" in root.stdout and "--show-completion" in root.stdout
    grade = run_cli("grade", "--help", env={"COLUMNS": "100"})
    assert "--regrade" in grade.stdout and "<bool>" not in grade.stdout
    assert "<str>" in grade.stdout, "options that take a value still show its type"


def _commands(command, path=()):  # noqa: ANN001, ANN202
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_has_examples_in_its_help() -> None:
    import typer

    from routerbench_core.commands.app import build_app
    from routerbench_core.plugins.manager import make_plugin_manager

    root = typer.main.get_command(build_app(make_plugin_manager()))
    seen = []
    for path, command in _commands(root):
        seen.append(" ".join(path))
        epilog = command.epilog or ""
        assert epilog.startswith("Examples:") and "rbench " in epilog, f"`rbench {' '.join(path)}`"
    assert {"list", "plugins", "route", "collect", "grade", "demo", "data import"} <= set(seen)
    shown = run_cli("data", "import", "--help", env={"COLUMNS": "100"})
    assert "Examples:" in shown.stdout and "rbench data import llmrouterbench" in shown.stdout


def test_cuda_without_a_gpu_is_one_clear_error_for_every_router(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    for router in ("avengers", "best-single", "embedllm"):  # numpy, baseline, torch
        result = run_cli("route", "--router", router, "--bench", "b", "--device", "cuda",
                         cwd=tmp_path)
        assert result.exit_code == 2, result.output
        assert "--device cuda was requested but torch" in result.stderr
        assert "Traceback" not in result.output and "AssertionError" not in result.output
    assert not (tmp_path / "rbench.db").exists(), "refused before any work"
