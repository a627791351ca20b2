"""The wheel path a user without a checkout takes: build the core's wheel and the example
plugin's (examples/rbench-router-mine), install both into a fresh virtual environment, and
list and route with the plugin there.

Nothing of the checkout may be visible to that environment: the commands run from a temporary
directory, with no PYTHONPATH, in a venv created without system site-packages, and the test
asserts that ``routerbench_core`` and the plugin are imported from the venv itself. The core's
third-party dependencies (pluggy, typer, rich, pydantic, numpy, pyyaml and what they need) are
not downloaded (tests stay offline): the installed copies of exactly those distributions —
resolved from the core's ``[project] dependencies`` and their own requirements — are linked
into one folder that the venv reads through a ``.pth`` file. The editable installs of the
checkout are not among them, so only the wheels can provide rbench.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "rbench-router-mine"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="venv layout is POSIX here")


def _requirement_closure(names: list[str]) -> list[md.Distribution]:
    """The installed distributions ``names`` need, with their own requirements (markers
    evaluated, no extras), excluding rbench itself."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, md.Distribution] = {}
    todo = list(names)
    while todo:
        req = Requirement(todo.pop())
        name = canonicalize_name(req.name)
        if name in seen or name == "rbench":
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            pytest.skip(f"{req.name} is not installed here, so the offline venv cannot get it")
        seen[name] = dist
        todo.extend(dist.requires or [])
    return list(seen.values())


def _link_dependencies(dists: list[md.Distribution], into: Path) -> None:
    """Symlink each distribution's top-level files (packages, modules, .libs folders and its
    .dist-info) into ``into``."""
    into.mkdir()
    for dist in dists:
        site = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        tops.add(Path(dist._path).name)  # type: ignore[attr-defined]  (its .dist-info)
        for top in tops:
            src, dst = site / top, into / top
            if src.exists() and not dst.exists() and top != "__pycache__" \
                    and not top.endswith(".pth"):
                dst.symlink_to(src)


def _copy_source(project: Path, into: Path) -> Path:
    """The project's build inputs copied out, so building leaves no build/ or egg-info in
    the checkout."""
    dst = into / project.name
    shutil.copytree(project, dst, ignore=shutil.ignore_patterns(
        "__pycache__", "*.egg-info", "build", "dist", ".nox", ".venv", ".git", "tests", "*.db"))
    return dst


def _build_wheel(project: Path, tmp: Path, wheels: Path) -> Path:
    before = set(wheels.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(wheels), str(_copy_source(project, tmp))],
        check=True, cwd=tmp, timeout=300,
    )
    (built,) = set(wheels.glob("*.whl")) - before
    return built


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """A fresh venv with the core's and the example's wheels installed; its python, a clean
    environment for running it, and a temporary working directory."""
    pytest.importorskip("setuptools", reason="building the wheels needs setuptools>=77 "
                        "(the core's test extra)")
    tmp = tmp_path_factory.mktemp("wheels")
    wheels = tmp / "dist"
    wheels.mkdir()
    core = _build_wheel(ROOT, tmp, wheels)
    mine = _build_wheel(EXAMPLE, tmp, wheels)
    assert core.name.startswith("rbench-") and mine.name.startswith("rbench_router_mine-")

    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    with open(ROOT / "pyproject.toml", "rb") as fh:
        core_deps = tomllib.load(fh)["project"]["dependencies"]
    deps = tmp / "deps"
    _link_dependencies(_requirement_closure([*core_deps, "numpy"]), deps)
    Path(purelib, "rbench-test-deps.pth").write_text(f"{deps}\n")

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "RBENCH_", "VIRTUAL_ENV", "PIP_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", COLUMNS="200",
               HF_HUB_OFFLINE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
         "--no-deps", "-q", str(core), str(mine)],
        check=True, cwd=tmp, env=env, timeout=300,
    )
    work = tmp / "work"
    work.mkdir()
    return python, env, work


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_installed_from_wheels_not_from_the_checkout(wheel_venv) -> None:
    python, env, work = wheel_venv
    out = _run([str(python), "-c", (
        "import json, sys, routerbench_core, rbench_router_mine; "
        "print(json.dumps([routerbench_core.__file__, rbench_router_mine.__file__, sys.path]))"
    )], env, work)
    core_file, mine_file, path = json.loads(out.stdout)
    venv = python.parent.parent
    assert Path(core_file).is_relative_to(venv), core_file
    assert Path(mine_file).is_relative_to(venv), mine_file
    assert not any(p and Path(p).resolve().is_relative_to(ROOT) for p in path), path


def test_rbench_lists_the_wheel_installed_plugin(wheel_venv) -> None:
    python, env, work = wheel_venv
    rbench = python.parent / "rbench"
    rows = json.loads(_run([str(rbench), "list", "routers", "--json"], env, work).stdout)
    mine = [r for r in rows if r["name"] == "mine-knn"]
    assert mine and mine[0]["distribution"] == "rbench-router-mine", rows
    assert mine[0]["status"] == "ok", mine
    # only what the wheels brought: the built-in baselines and this one plugin
    assert {r["distribution"] for r in rows} <= {"rbench", "rbench-router-mine"}, rows
    table = _run([str(rbench), "list", "routers"], env, work).stdout
    assert "mine-knn" in table and "rbench-router-mine" in table


def test_routes_with_the_wheel_installed_plugin(wheel_venv) -> None:
    python, env, work = wheel_venv
    store = work / "bench.db"
    _run([str(python), "-c", (
        "import sys\n"
        "from routerbench_core.testing import Store\n"
        "from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix\n"
        "store_matrix(Store(sys.argv[1]), make_synthetic_bench(seed=0, "
        "queries_per_cluster=40).matrix)\n"
    ), str(store)], env, work)
    report = work / "route.json"
    proc = _run([str(python.parent / "rbench"), "--store", str(store), "route",
                 "-r", "mine-knn", "-b", "synthetic", "--embedder", "hashing",
                 "--seeds", "42", "--json", str(report)], env, work)
    assert "mine-knn" in proc.stdout
    result = json.loads(report.read_text())
    assert result["router"] == ["mine-knn"]
    plugin = result["provenance"]["plugins"]["router"]["mine-knn"]
    assert plugin["distribution"] == "rbench-router-mine", plugin
    # the synthetic bench has one expert per topic: a kNN over hashed words finds them
    acc = result["metrics"]["mine-knn"]["avg_acc"]["mean"]
    random = result["baselines"]["random"]["avg_acc"]["mean"]
    assert acc > random + 0.2, (acc, random)


def test_a_router_that_needs_no_embedder_routes_without_one(wheel_venv) -> None:
    """`"embeddings": False` (best-single): no embedder is loaded, so the venv, which has no
    sentence-transformers, routes with no --embedder."""
    python, env, work = wheel_venv
    probe = _run([str(python), "-c", "import importlib.util as u; "
                  "print(u.find_spec('sentence_transformers') is None)"], env, work)
    assert probe.stdout.strip() == "True", "the venv should not have sentence-transformers"
    store = work / "plain.db"
    _run([str(python), "-c", (
        "import sys\n"
        "from routerbench_core.testing import Store\n"
        "from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix\n"
        "store_matrix(Store(sys.argv[1]), make_synthetic_bench(seed=1, "
        "queries_per_cluster=20).matrix)\n"
    ), str(store)], env, work)
    proc = _run([str(python.parent / "rbench"), "--store", str(store), "route",
                 "-r", "best-single", "-b", "synthetic", "--seeds", "42"], env, work)
    assert "best-single" in proc.stdout


def test_install_hints_name_what_an_installed_rbench_can_run() -> None:
    """constraints.txt exists only in a checkout: an error message of the installed package
    that tells the user to `pip install -c constraints.txt ...` cannot be followed."""
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for path in sorted((ROOT / "src" / "routerbench_core").rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "constraints.txt" in line]
    assert not offenders, offenders
