"""Run the ``rbench`` command in the test's own process.

:func:`run_cli` does what the ``rbench`` executable does (:func:`routerbench_core.commands.entry.main`:
a fresh plugin host from the installed entry points, the environment variables applied, the
same error handling and exit codes) and captures its output, without the second or so a
subprocess spends starting Python and importing rbench. Keep real subprocesses for what only a
process shows: import cost, signals and kills, the installed console script.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Variables a developer's shell may have set that would change what a test sees.
_CLEARED = ("RBENCH_STRICT_PLUGINS", "RBENCH_DISABLE_PLUGINS", "RBENCH_DISABLE_PLUGIN_AUTOLOAD",
            "RBENCH_TRACE_HOOKS", "RBENCH_STORE")


@dataclass(frozen=True)
class CliResult:
    """Exit code and captured output of one :func:`run_cli` call."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def returncode(self) -> int:  # the name subprocess.CompletedProcess uses
        return self.exit_code

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextlib.contextmanager
def _environment(env: Mapping[str, str | None], sites: Sequence[Path],
                 cwd: Path | None) -> Iterator[None]:
    saved_env = dict(os.environ)
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    saved_cwd = Path.cwd()
    for name in _CLEARED:
        os.environ.pop(name, None)
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    sys.path[:0] = [str(s) for s in sites]
    importlib.invalidate_caches()  # a site folder written just now must be seen
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        roots = tuple(str(Path(s).resolve()) for s in sites)
        for name in set(sys.modules) - saved_modules:  # a fake site's modules go with it
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if roots and str(Path(origin).resolve()).startswith(roots):
                del sys.modules[name]


def run_cli(
    *args: str | os.PathLike[str],
    env: Mapping[str, str | None] | None = None,
    sites: Sequence[Path] = (),
    cwd: Path | None = None,
) -> CliResult:
    """Run ``rbench ARGS`` in-process and return its exit code and output.

    :param env: environment variables for the run (None unsets one; the ``RBENCH_*`` ones of
        the caller's shell are cleared first); ``COLUMNS`` sets the width tables are drawn at.
    :param sites: folders put first on ``sys.path`` for the run, e.g. holding fake installed
        distributions whose entry points the fresh plugin host then discovers.
    :param cwd: working directory for the run (where ``./rbench.db`` is).
    """
    from routerbench_core.commands.entry import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with _environment(env or {}, sites, cwd), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                err.write(exc.code + "\n")
    return CliResult(exit_code=code, stdout=out.getvalue(), stderr=err.getvalue())
