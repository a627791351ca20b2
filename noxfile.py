"""Development sessions. Every install uses constraints.txt (torch==2.13.0, the CPU build).

    nox -s tests        install the core and every plugin editable, run the default suite
    nox -s demo         run `rbench demo` on the embedded synthetic benchmark
    nox -s lint         ruff
    nox -s bench        the performance scripts in bench/ (they print figures)
    nox -s plugin       each plugin alone: core + that plugin, its own tests
    nox -s build        wheels of the core, every plugin and the example plugin, into dist/
    nox -s browser      the HTML report in a real headless Chromium (installs Debian's
                        chromium package when missing and apt-get is usable)
    nox -s integration  opt-in: a real llama.cpp OpenAI-compatible server end to end
"""

from __future__ import annotations

import glob
import os

import nox
import tomllib

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
PLUGINS = sorted(glob.glob("plugins/*/rbench-*"))
CORE_EXTRAS = ".[parquet,plot,ml,embed,serve,seed,test]"


#: Plugin extras the test environment installs (not: hub = the `datasets` library, vllm = GPU
#: only, bench = the collector benchmark's baselines).
TEST_EXTRAS = {"torch", "lm", "test", "online"}


def with_extras(plugin: str, wanted: set[str] = TEST_EXTRAS) -> str:
    """``plugin[extra,...]`` with the plugin's extras that tests need."""
    with open(os.path.join(plugin, "pyproject.toml"), "rb") as fh:
        declared = tomllib.load(fh)["project"].get("optional-dependencies", {})
    extras = sorted(wanted & set(declared))
    return f"{plugin}[{','.join(extras)}]" if extras else plugin


def install_all(session: nox.Session) -> None:
    """Core (with extras) and every plugin (with its test extras), editable, in one resolver
    run."""
    editable = [arg for plugin in PLUGINS for arg in ("-e", with_extras(plugin))]
    session.install("-c", "constraints.txt", "-e", CORE_EXTRAS, *editable)


#: Debian/Ubuntu packages the sessions that grade code need: bubblewrap is the sandbox that
#: isolates model-written code (docs/sandbox.md); without it code grading refuses to run.
SYSTEM_PACKAGES = ("bubblewrap",)


def apt_install(session: nox.Session, *packages: str) -> bool:
    """``apt-get install`` Debian packages as root or through passwordless sudo; False when
    apt-get cannot be used here."""
    import shutil

    if not shutil.which("apt-get"):
        return False
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            return False
        prefix = ["sudo", "-n"]
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    session.run(*prefix, "apt-get", "update", "-qq", external=True, env=env, success_codes=[0, 100])
    session.run(*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages,
                external=True, env=env, success_codes=[0, 100])
    return True


def install_system_packages(session: nox.Session) -> None:
    """:data:`SYSTEM_PACKAGES` (bubblewrap), installed with apt-get when missing."""
    import shutil

    if shutil.which("bwrap"):
        return
    if not apt_install(session, *SYSTEM_PACKAGES) or not shutil.which("bwrap"):
        session.warn(f"install {' '.join(SYSTEM_PACKAGES)} with your package manager: "
                     "the code-grading tests fail or skip without it (docs/sandbox.md)")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The default suite, with bubblewrap for the code sandbox, and the HTML report's
    real-browser checks when Chromium is there or can be installed (Debian's package; the test
    says why it skips otherwise)."""
    install_system_packages(session)
    install_all(session)
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    chromium = ensure_chromium(session)
    if chromium:
        env["RBENCH_CHROMIUM"] = chromium
    session.run(
        "pytest", "-m", "not slow and not integration and not gpu and not vllm",
        *session.posargs, env=env,
    )


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    install_all(session)
    session.run("rbench", "demo", *session.posargs, env={"HF_HUB_OFFLINE": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "plugins", "tests", "bench", "examples", "noxfile.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    install_system_packages(session)
    install_all(session)
    # the collector benchmark compares against the bare openai client (and its aiohttp transport)
    session.install("-c", "constraints.txt", "-e", "plugins/backends/rbench-backend-openai[bench]")
    for script in sorted(glob.glob("bench/*.py")):
        session.run("python", script, *session.posargs, env={"HF_HUB_OFFLINE": "1"})


@nox.session(python=PYTHON)
@nox.parametrize("plugin", PLUGINS)
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin installed alone on the core: proves it declares its own dependencies."""
    # extras naming other rbench plugins (test, online) would send pip to the registry
    session.install("-c", "constraints.txt", "-e", ".[test]",
                    "-e", with_extras(plugin, {"torch", "lm"}))
    session.run("pytest", os.path.join(plugin, "tests"), "-m", "not slow and not gpu",
                env={"HF_HUB_OFFLINE": "1"})


#: Every distribution `nox -s build` makes a wheel of: the core, its plugins, the example.
DISTRIBUTIONS = [".", *PLUGINS, *sorted(glob.glob("examples/rbench-*"))]


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Wheels of the core and of every plugin (and examples/rbench-router-mine) into dist/:
    what a user installs without a checkout (`pip install dist/rbench-*.whl
    dist/rbench_router_mine-*.whl`). Built without isolation, with the session's setuptools,
    so no registry is needed beyond installing setuptools and wheel once."""
    import shutil

    session.install("setuptools>=77", "wheel")
    out = os.path.abspath(session.posargs[0] if session.posargs else "dist")
    # each project is built from a fresh copy: setuptools would otherwise leave build/ and
    # egg-info in the checkout, and reuse a stale build/lib (a deleted module would still ship)
    tmp = session.create_tmp()
    for project in DISTRIBUTIONS:
        copy = os.path.join(tmp, "src", os.path.basename(os.path.abspath(project)))
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns(
            "__pycache__", "*.egg-info", "build", "dist", ".nox", ".venv", ".git", "*.db"))
        session.run("python", "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", out, copy)
    session.log(f"{len(DISTRIBUTIONS)} wheels in {out}")


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def ensure_chromium(session: nox.Session) -> str | None:
    """A headless-capable Chromium: one on PATH, else Debian's ``chromium`` package installed
    with apt-get (as root, or through passwordless sudo). None when neither works."""
    import shutil

    for name in CHROMIUM_NAMES:
        if shutil.which(name):
            return shutil.which(name)
    if not apt_install(session, "chromium"):
        return None
    return shutil.which("chromium")


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """Open `rbench report --html` pages in a real headless Chromium (console errors, visible
    tables and plots, label bounding boxes, a screenshot)."""
    exe = ensure_chromium(session)
    if exe is None:
        session.skip("no Chromium and no way to install it (needs Debian's apt-get as root or "
                     "passwordless sudo): the browser checks of the HTML report did not run")
    install_all(session)
    session.run("pytest", "tests/test_report_html.py", *session.posargs,
                env={"HF_HUB_OFFLINE": "1", "RBENCH_CHROMIUM": exe})


if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "noxfile_integration.py")):
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # nox does not add it
    from noxfile_integration import integration  # noqa: E402,F401  (opt-in, real server)
