"""The plugin system: discovery, isolation of broken plugins, strict mode, blocking, duplicates,
lazy loading and hook validation. CLI tests use real installed distributions (fake site
folders), in-process through run_cli; one runs the real ``rbench`` process end to end."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from routerbench_core import hookimpl
from routerbench_core.plugins.manager import PluginError, UnknownNameError, make_plugin_manager
from routerbench_core.plugins.spec import PluginLoadError

sys.path.insert(0, str(Path(__file__).parent))
from fakedist import install_fake_dist, run_rbench  # noqa: E402

from routerbench_core.testing import run_cli  # noqa: E402

GOOD_PLUGIN = """
from routerbench_core import hookimpl

@hookimpl
def register_routers(register):
    register("goodrouter", "good_impl:GoodRouter", "A router from a third party",
             capabilities={"settings": ["perf"]})
"""
GOOD_IMPL = """
import sys
IMPORTED = True
class GoodRouter:
    pass
"""


def _plugin_module(name: str, **hooks: object) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, hookimpl(fn))  # type: ignore[arg-type]
    return module


def _routers(register):  # noqa: ANN001
    register("alpha", "json:loads", "alpha router", capabilities={"settings": ["perf"]})


def test_hook_register_routers_collects_specs_with_distribution() -> None:
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[
        _plugin_module("alpha_plugin", register_routers=_routers)
    ])
    spec = host.get("router", "alpha")
    assert spec.kind == "router"
    assert spec.plugin == "alpha_plugin"
    assert spec.summary == "alpha router"
    assert spec.load() is json.loads


def _one_hook_host(hook_name: str, fn):  # noqa: ANN001, ANN202
    return make_plugin_manager(
        load_entrypoints=False, extra_plugins=[_plugin_module(f"p_{hook_name}", **{hook_name: fn})]
    )


def test_hook_register_backends() -> None:
    def backends(register):  # noqa: ANN001
        register("b1", "json:dumps", "a backend", requires=["json"])

    spec = _one_hook_host("register_backends", backends).get("backend", "b1")
    assert (spec.kind, spec.status, spec.summary) == ("backend", "ok", "a backend")


def test_hook_register_datasets() -> None:
    def datasets(register):  # noqa: ANN001
        register("d1", "json:dumps", "a dataset", capabilities={"category": "math", "size": 3})

    spec = _one_hook_host("register_datasets", datasets).get("dataset", "d1")
    assert spec.capabilities == {"category": "math", "size": 3}


def test_hook_register_embedders() -> None:
    def embedders(register):  # noqa: ANN001
        register("e1", "json:dumps", "an embedder")

    host = _one_hook_host("register_embedders", embedders)
    assert host.get("embedder", "e1").load() is json.dumps


def test_hook_register_commands_adds_a_command() -> None:
    import typer
    from typer.testing import CliRunner

    def commands(app):  # noqa: ANN001
        @app.command("hello")
        def hello() -> None:
            typer.echo("hello from a plugin")

    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[
        _plugin_module("cmds", register_commands=commands)
    ])
    from routerbench_core.commands.app import State, build_app

    app = build_app(host)
    result = CliRunner().invoke(app, ["hello"], obj=State(host=host))
    assert result.exit_code == 0, result.output
    assert "hello from a plugin" in result.output


def test_builtins_register_through_the_same_hooks() -> None:
    host = make_plugin_manager(load_entrypoints=False)
    builtin = [r for r in host.records if r.distribution == "rbench"]
    assert builtin, "the core registers its built-ins as plugins"
    assert all(r.error is None for r in builtin), [r.status for r in builtin]
    assert any("register_commands" in r.hooks for r in builtin)
    for spec in host.specs():
        if spec.plugin.startswith("rbench."):
            assert spec.distribution == "rbench"


def _other_routers(register):  # noqa: ANN001
    register("alpha", "json:dumps", "another alpha")
    register("beta", "json:dumps", "beta router")


def test_duplicate_name_fails_both_plugins_and_is_unavailable() -> None:
    plugins = [_plugin_module("first_dist", register_routers=_routers),
               _plugin_module("second_dist", register_routers=_other_routers)]
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=plugins)
    assert "alpha" not in host.names("router"), "never a silent pick of one of the two"
    assert host.get("router", "beta").plugin == "second_dist", "other names still work"
    failed = {r.name: r.status for r in host.failures()}
    assert set(failed) == {"first_dist", "second_dist"}
    for status in failed.values():
        assert status.startswith("failed: router name 'alpha' is registered by")
        assert "first_dist" in status and "second_dist" in status
    with pytest.raises(UnknownNameError) as info:
        host.get("router", "alpha")
    assert "unavailable" in str(info.value) and "first_dist" in str(info.value)
    assert "second_dist" in str(info.value)

    strict = make_plugin_manager(load_entrypoints=False, extra_plugins=plugins, strict=True)
    with pytest.raises(PluginError, match="'alpha' is registered by"):
        strict.specs()


def test_hooks_are_called_through_pluggy_so_an_impl_may_take_a_subset() -> None:
    calls = []

    def no_arguments() -> None:  # takes none of the hook's arguments
        calls.append("called")

    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[
        _plugin_module("subset_plugin", register_routers=no_arguments)
    ])
    host.specs()
    assert calls == ["called"]
    assert not host.failures(), [r.status for r in host.failures()]


def test_failing_hook_is_isolated_and_strict_mode_raises() -> None:
    def broken(register):  # noqa: ANN001
        register("halfway", "json:loads")
        raise RuntimeError("plugin bug")

    plugins = [
        _plugin_module("broken_plugin", register_routers=broken),
        _plugin_module("fine_plugin", register_routers=_routers),
    ]
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=plugins)
    assert host.names("router").count("alpha") == 1
    assert "halfway" not in host.names("router"), "a failed plugin's partial specs are dropped"
    failed = {r.name: r.status for r in host.failures()}
    assert "plugin bug" in failed["broken_plugin"]

    strict = make_plugin_manager(load_entrypoints=False, extra_plugins=plugins, strict=True)
    with pytest.raises(PluginError, match="plugin bug"):
        strict.specs()


def test_misspelled_hook_fails_only_its_plugin_unless_strict() -> None:
    module = types.ModuleType("typo_plugin")
    module.register_ruoters = hookimpl(lambda register: None)  # type: ignore[attr-defined]
    module.register_datasets = hookimpl(  # type: ignore[attr-defined]
        lambda register: register("typo-ds", "json:loads"))
    fine = _plugin_module("fine_plugin", register_routers=_routers)
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[module, fine])
    [failed] = host.failures()
    assert failed.name == "typo_plugin"
    assert "'register_ruoters'" in failed.status and "Did you mean register_routers" in failed.status
    assert "typo-ds" not in host.names("dataset"), "a plugin with a wrong hook contributes nothing"
    assert host.get("router", "alpha").plugin == "fine_plugin"
    with pytest.raises(PluginError, match="register_ruoters"):
        make_plugin_manager(load_entrypoints=False, extra_plugins=[module, fine], strict=True)


def test_hook_register_importers_and_the_builtin_formats(tmp_path: Path) -> None:
    from routerbench_core import ImportedRecords, Query, Response
    from routerbench_core.data.importers import DataFormatError, import_bench
    from routerbench_core.data.store import Store

    def parse(path, *, model):  # noqa: ANN001, ANN202
        q = Query(dataset="toy", id="1", text=path.read_text())
        return ImportedRecords(format="toy", source=str(path), queries=[q],
                               responses=[Response(query_key=q.key, model=model, raw_output="x")])

    def importers(register):  # noqa: ANN001
        register("toy", parse, "a toy format", capabilities={"options": {"model": "who"}})

    host = _one_hook_host("register_importers", importers)
    builtin = {s.name: s.distribution for s in host.specs("importer") if s.plugin.startswith("rbench.")}
    assert builtin == dict.fromkeys(
        ["llmrouter", "llmrouterbench", "parquet", "routerbench", "routerdc"], "rbench")
    source = tmp_path / "toy.txt"
    source.write_text("what is 1+1?")
    with Store(tmp_path / "s.db") as store:
        result = import_bench(store, "toy", source, "b", options={"model": "m1"}, host=host)
        assert (result.n_queries, result.n_models, result.n_records) == (1, 1, 1)
        import_bench(store, "toy", source, "b", add=True, options={"model": "m2"}, host=host)
        assert [m.name for m in store.models("b")] == ["m1", "m2"]
        with pytest.raises(DataFormatError, match="no option 'modle'; its options: model"):
            import_bench(store, "toy", source, "c", options={"modle": "m"}, host=host)
        with pytest.raises(DataFormatError, match="Did you mean toy"):
            import_bench(store, "tyo", source, "c", host=host)
        assert store.bench_names() == ["b"]


def test_unknown_name_suggests_close_matches() -> None:
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[
        _plugin_module("alpha_plugin", register_routers=_routers)
    ])
    with pytest.raises(UnknownNameError) as info:
        host.get("router", "alpah")
    assert "Did you mean alpha?" in str(info.value)
    assert "Installed:" in str(info.value)


def test_missing_dependency_is_reported_without_importing() -> None:
    def routers(register):  # noqa: ANN001
        register("needs_dep", "no_such_module_xyz.impl:Router", "needs a library",
                 requires=["no_such_module_xyz"])

    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[
        _plugin_module("dep_plugin", register_routers=routers)
    ])
    spec = host.get("router", "needs_dep")
    assert spec.status == "missing dependency: no_such_module_xyz"
    with pytest.raises(PluginLoadError, match="needs no_such_module_xyz"):
        spec.load()


def test_entry_point_plugin_is_discovered_lazily(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    site = install_fake_dist(
        tmp_path / "site", "rbench-router-good",
        {"good_plugin": GOOD_PLUGIN, "good_impl": GOOD_IMPL}, {"good": "good_plugin"},
        version="2.5",
    )
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("good_impl", None)
    host = make_plugin_manager()
    spec = host.get("router", "goodrouter")
    assert (spec.distribution, spec.version, spec.plugin) == ("rbench-router-good", "2.5", "good")
    assert "good_impl" not in sys.modules, "listing must not import the implementation"
    assert spec.load().__name__ == "GoodRouter"
    assert "good_impl" in sys.modules


def _broken_site(tmp_path: Path) -> Path:
    site = install_fake_dist(
        tmp_path / "site", "rbench-router-good",
        {"good_plugin": GOOD_PLUGIN, "good_impl": GOOD_IMPL}, {"good": "good_plugin"},
    )
    install_fake_dist(
        site, "rbench-router-broken",
        {"broken_plugin": "import this_dependency_is_not_installed\n"},
        {"broken": "broken_plugin"},
    )
    return site


def test_broken_plugin_does_not_break_the_cli(tmp_path: Path) -> None:
    site = _broken_site(tmp_path)
    result = run_cli("list", "--json", sites=[site], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["goodrouter"]["status"] == "ok"
    assert by_name["broken"]["status"].startswith("failed: ModuleNotFoundError")
    assert by_name["broken"]["distribution"] == "rbench-router-broken"
    for row in rows:
        assert {"kind", "name", "distribution", "version", "status", "summary"} <= set(row)

    table = run_cli("list", sites=[site], cwd=tmp_path)
    assert table.returncode == 0
    assert "rbench-router-broken" in table.stdout and "still work" in table.stdout

    plugins = run_cli("plugins", "--json", sites=[site], cwd=tmp_path)
    assert plugins.returncode == 0
    assert {"good", "broken"} <= {p["name"] for p in json.loads(plugins.stdout)}


def test_strict_mode_makes_a_broken_plugin_fatal(tmp_path: Path) -> None:
    site = _broken_site(tmp_path)
    result = run_cli("list", sites=[site], env={"RBENCH_STRICT_PLUGINS": "1"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "broken" in result.stderr and "RBENCH_STRICT_PLUGINS" in result.stderr


def test_disable_plugins_blocks_them(tmp_path: Path) -> None:
    site = _broken_site(tmp_path)
    result = run_cli(
        "plugins", "--json", sites=[site], cwd=tmp_path,
        env={"RBENCH_DISABLE_PLUGINS": "broken,rbench-router-good"},
    )
    assert result.returncode == 0, result.stderr
    status = {p["name"]: p["status"] for p in json.loads(result.stdout)}
    # "disabled", not "failed": a blocked plugin is never imported
    assert status["broken"] == "disabled" and status["good"] == "disabled"

    autoload_off = run_cli(
        "list", "--json", sites=[site], cwd=tmp_path,
        env={"RBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    names = {r["name"] for r in json.loads(autoload_off.stdout)}
    assert "goodrouter" not in names and "broken" not in names


DUP_ONE = """
from routerbench_core import hookimpl

@hookimpl
def register_routers(register):
    register("dup", "json:loads", "one's router")
    register("one-only", "json:loads", "only in one")
"""
DUP_TWO = DUP_ONE.replace("one", "two").replace("two-only", "two-only")
TYPO = """
from routerbench_core import hookimpl

@hookimpl
def check_pending(register):
    pass
"""


def _clash_site(tmp_path: Path) -> Path:
    site = install_fake_dist(tmp_path / "site", "rbench-router-one", {"dup_one": DUP_ONE},
                             {"one": "dup_one"})
    install_fake_dist(site, "rbench-router-two", {"dup_two": DUP_TWO}, {"two": "dup_two"})
    install_fake_dist(site, "rbench-router-typo", {"typo_plugin": TYPO}, {"typo": "typo_plugin"})
    return site


def test_two_distributions_registering_one_name_break_no_command(tmp_path: Path) -> None:
    site = _clash_site(tmp_path)
    # the real `rbench` process once, end to end; the rest in-process
    table = run_rbench("list", sites=[site], cwd=tmp_path, env={"COLUMNS": "80"})
    assert table.returncode == 0, table.stderr
    flat = " ".join(table.stdout.split())
    for plugin, dist in (("one", "rbench-router-one"), ("two", "rbench-router-two")):
        assert f"plugin {plugin} ({dist}) failed: router name 'dup' is registered by" in flat
    assert "'rbench-router-one' (plugin one) and 'rbench-router-two' (plugin two)" in flat
    assert "plugin typo (rbench-router-typo) failed: implements unknown hook 'check_pending'" in flat

    rows = {(r["kind"], r["name"]): r for r in json.loads(
        run_cli("list", "--json", sites=[site], cwd=tmp_path).stdout)}
    assert ("router", "dup") not in rows
    assert ("router", "one-only") in rows and ("router", "two-only") in rows
    assert rows[("plugin", "one")]["status"] == rows[("plugin", "two")]["status"]

    route = run_cli("route", "--router", "dup", "--bench", "b", sites=[site], cwd=tmp_path)
    assert route.returncode == 2
    assert "router 'dup' is unavailable" in route.stderr and "rbench-router-two" in route.stderr
    assert "Traceback" not in route.stderr
    other = run_cli("data", "list", sites=[site], cwd=tmp_path)
    assert other.returncode == 0, other.stderr

    strict = run_cli("list", sites=[site], cwd=tmp_path, env={"RBENCH_STRICT_PLUGINS": "1"})
    assert strict.returncode == 2 and "RBENCH_STRICT_PLUGINS" in strict.stderr
    assert "Traceback" not in strict.stderr
    blocked = run_cli("list", "--json", sites=[site], cwd=tmp_path, env={
        "RBENCH_STRICT_PLUGINS": "1", "RBENCH_DISABLE_PLUGINS": "two,typo"})
    assert blocked.returncode == 0, blocked.stderr
    assert ("router", "dup") in {(r["kind"], r["name"]) for r in json.loads(blocked.stdout)}


HEAVY = ["torch", "sklearn", "openai", "vllm", "sentence_transformers", "torch_geometric",
         "matplotlib", "pyarrow", "scipy", "transformers"]


@pytest.mark.parametrize("argv", [["list", "--json"], ["--help"], ["list"]])
def test_list_and_help_import_no_heavy_library(argv: list[str]) -> None:
    # `rbench list --json` builds no CLI at all: not even typer, rich or pydantic (which typer
    # uses to parse options) are imported, the bulk of its old start-up time
    heavy = HEAVY + (["typer", "rich", "pydantic", "email"] if argv == ["list", "--json"] else [])
    code = (
        "import sys, json\n"
        "from routerbench_core.commands.entry import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        f"heavy = [m for m in {heavy!r} if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + json.dumps(heavy))\n"
    )
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    marker = result.stderr.rsplit("HEAVY=", 1)
    assert len(marker) == 2, result.stderr
    assert json.loads(marker[1]) == [], f"{argv} imported heavy modules"


def test_entry_point_scan_agrees_with_importlib_metadata(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from routerbench_core.plugins import discovery

    site = _broken_site(tmp_path)
    later = install_fake_dist(tmp_path / "later", "rbench-router-good", {}, {"shadowed": "x"},
                              version="0.1")
    monkeypatch.syspath_prepend(str(later))
    monkeypatch.syspath_prepend(str(site))  # first on the path: its rbench-router-good wins
    scanned = discovery._scan("rbench")
    assert scanned is not None, "a plain environment is scanned, not handed to importlib.metadata"
    assert sorted(scanned, key=lambda e: e.name) == sorted(
        discovery._with_importlib_metadata("rbench"), key=lambda e: e.name)
    names = {e.name: e for e in scanned}
    assert names["good"].distribution == "rbench-router-good" and "shadowed" not in names

    zipped = tmp_path / "plugins.zip"
    zipped.write_bytes(b"PK\x05\x06" + bytes(18))  # an (empty) zip on sys.path
    monkeypatch.syspath_prepend(str(zipped))
    assert discovery._scan("rbench") is None, "unusual paths go to importlib.metadata"
    assert {e.name for e in discovery.entry_points_of("rbench")} >= {"good", "broken"}
