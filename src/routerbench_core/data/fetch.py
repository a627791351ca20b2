"""``rbench data fetch``: download a public routing data set from its hub repository, then import it.

This is the one place where rbench reaches the network on the user's request (besides the API
backends). The download goes through ``huggingface_hub`` (installed with the ``embed`` extra), is
pinned to a revision when one is given, lands in the hub cache, and is then imported exactly like
a local folder: all-or-nothing, with the same format checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from routerbench_core.data.importers import ImportResult, import_bench
from routerbench_core.data.importers.base import MissingDependencyError
from routerbench_core.plugins.manager import env_flag

if TYPE_CHECKING:
    from routerbench_core.data.store import Store


class FetchError(RuntimeError):
    """The download failed; the message says why and what to do."""


def download(
    repo_id: str, *, revision: str | None = None, subdir: str | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Download (or reuse from the cache) a hub dataset repository; return the local folder.

    ``repo_id`` and ``subdir`` become paths in the hub cache, so both are checked first: an
    ``owner/name`` of plain names, and a relative folder that does not climb out.
    """
    from routerbench_core.data.paths import UnsafePathError, check_component, check_relative

    try:
        owner, sep, name = repo_id.partition("/")
        if not sep:
            raise UnsafePathError(f"repository {repo_id!r} must look like owner/name")
        check_component(owner, "repository owner")
        check_component(name, "repository name")
        if subdir is not None:
            check_relative(subdir, "--subdir")
    except UnsafePathError as exc:
        raise FetchError(str(exc)) from None
    if env_flag("HF_HUB_OFFLINE"):
        raise FetchError(
            f"cannot fetch {repo_id}: HF_HUB_OFFLINE is set. Unset it to download, or download "
            "the files yourself and use `rbench data import FORMAT PATH`"
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise MissingDependencyError(
            "rbench data fetch needs huggingface_hub: `pip install 'rbench[embed]'` "
            "(or `pip install huggingface_hub`)"
        ) from None
    patterns = [f"{subdir.strip('/')}/**"] if subdir else None
    try:
        local = snapshot_download(
            repo_id=repo_id, repo_type="dataset", revision=revision, allow_patterns=patterns,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    except Exception as exc:  # the hub client raises many types; all mean "no data"
        raise FetchError(
            f"could not download {repo_id}" + (f"@{revision}" if revision else "")
            + f": {type(exc).__name__}: {exc}"
        ) from exc
    path = Path(local) / subdir.strip("/") if subdir else Path(local)
    if subdir:
        from routerbench_core.data.paths import UnsafePathError, inside

        try:
            inside(Path(local), path)
        except UnsafePathError as exc:
            raise FetchError(str(exc)) from None
    if not path.exists():
        raise FetchError(f"{repo_id} has no folder {subdir!r}; check --subdir")
    return path


def fetch_and_import(
    store: Store, repo_id: str, fmt: str, name: str, *, revision: str | None = None,
    subdir: str | None = None, cache_dir: str | Path | None = None, replace: bool = False,
) -> tuple[Path, ImportResult]:
    path = download(repo_id, revision=revision, subdir=subdir, cache_dir=cache_dir)
    result = import_bench(store, fmt, path, name, replace=replace)
    store.update_bench_metadata(
        name, fetched_from={"repo_id": repo_id, "revision": revision, "subdir": subdir}
    )
    return path, result
