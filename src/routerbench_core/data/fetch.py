"""``rbench data fetch``: download a public routing data set from its hub repository, then import it.

This is the one place where rbench reaches the network on the user's request (besides the API
backends). The download goes through ``huggingface_hub`` (installed with the ``embed`` extra), is
pinned to a revision when one is given, lands in the hub cache, and is then imported exactly like
a local folder: all-or-nothing, with the same format checks.

Some releases are one archive in the repository rather than its files (LLMRouterBench publishes
``bench-release.tar.gz``): with ``archive=`` the file is downloaded alone, unpacked by
:mod:`routerbench_core.data.archive` (which refuses members that could write outside the
folder) into a private folder beside it, imported, and the folder removed. :data:`NAMED_SOURCES`
names the published releases, so ``rbench data fetch llmrouterbench --name lrb`` is one command.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from routerbench_core.data.importers import ImportResult, import_bench
from routerbench_core.data.importers.base import MissingDependencyError
from routerbench_core.plugins.manager import env_flag

if TYPE_CHECKING:
    from routerbench_core.data.store import Store


class FetchError(RuntimeError):
    """The download failed; the message says why and what to do."""


@dataclass(frozen=True)
class NamedSource:
    """A published release that ``rbench data fetch NAME`` knows how to get and import."""

    name: str
    repo_id: str
    format: str
    #: the release's archive in the repository (None: the repository holds the files)
    archive: str | None = None
    #: commit to pin; None means the repository's ``main`` (the resolved commit is recorded)
    revision: str | None = None
    subdir: str | None = None
    about: str = ""


#: Releases fetched by name. The seed's hub repository holds the release as one archive of its
#: ``results/bench/<dataset>/<split>/<model>/*.json`` layout. No commit of it is pinned here
#: (none could be confirmed offline); the commit actually downloaded is recorded in the
#: bench's ``fetched_from`` metadata and printed, so a run can be repeated with ``--revision``.
NAMED_SOURCES: dict[str, NamedSource] = {
    "llmrouterbench": NamedSource(
        name="llmrouterbench", repo_id="NPULH/LLMRouterBench", format="llmrouterbench",
        archive="bench-release.tar.gz",
        about="LLMRouterBench's published results (arXiv 2601.07206), graded by the seed",
    ),
}


def named_source(name: str) -> NamedSource:
    """The release called ``name``, or a :class:`FetchError` listing the names."""
    try:
        return NAMED_SOURCES[name]
    except KeyError:
        raise FetchError(
            f"unknown source {name!r}: give a hub repository as owner/name, or one of the "
            f"named releases: {', '.join(sorted(NAMED_SOURCES))}"
        ) from None


def _check_repo(repo_id: str) -> None:
    from routerbench_core.data.paths import UnsafePathError, check_component

    try:
        owner, sep, name = repo_id.partition("/")
        if not sep:
            raise UnsafePathError(f"repository {repo_id!r} must look like owner/name")
        check_component(owner, "repository owner")
        check_component(name, "repository name")
    except UnsafePathError as exc:
        raise FetchError(str(exc)) from None


def _hub_client() -> object:
    try:
        import huggingface_hub
    except ImportError:
        raise MissingDependencyError(
            "rbench data fetch needs huggingface_hub: `pip install 'rbench[embed]'` "
            "(or `pip install huggingface_hub`)"
        ) from None
    return huggingface_hub


def download(
    repo_id: str, *, revision: str | None = None, subdir: str | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Download (or reuse from the cache) a hub dataset repository; return the local folder.

    ``repo_id`` and ``subdir`` become paths in the hub cache, so both are checked first: an
    ``owner/name`` of plain names, and a relative folder that does not climb out.
    """
    _check_repo(repo_id)
    if subdir is not None:
        _check_relative(subdir, "--subdir")
    if env_flag("HF_HUB_OFFLINE"):
        raise FetchError(
            f"cannot fetch {repo_id}: HF_HUB_OFFLINE is set. Unset it to download, or download "
            "the files yourself and use `rbench data import FORMAT PATH`"
        )
    snapshot_download = _hub_client().snapshot_download  # type: ignore[attr-defined]
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


def _check_relative(value: str, what: str) -> None:
    """A path that becomes part of a hub-cache path: relative, never climbing out."""
    from routerbench_core.data.paths import UnsafePathError, check_relative

    try:
        check_relative(value, what)
    except UnsafePathError as exc:
        raise FetchError(str(exc)) from None


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


def download_archive(
    repo_id: str, filename: str, *, revision: str | None = None,
    cache_dir: str | Path | None = None, endpoint: str | None = None,
) -> tuple[Path, str | None]:
    """Download (or reuse from the hub cache) one archive file of a hub dataset repository.

    Returns the local file and the commit it came from (read from the hub cache's snapshot
    folder, so a fetch of ``main`` can be repeated exactly). ``endpoint`` overrides the hub's
    address (``HF_ENDPOINT`` does the same for the hub client).
    """
    _check_repo(repo_id)
    _check_relative(filename, "archive")
    if env_flag("HF_HUB_OFFLINE"):
        raise FetchError(
            f"cannot fetch {repo_id}: HF_HUB_OFFLINE is set. Unset it to download, or download "
            f"{filename} yourself, unpack it and use `rbench data import FORMAT PATH`"
        )
    hub = _hub_client()
    try:
        local = hub.hf_hub_download(  # type: ignore[attr-defined]
            repo_id=repo_id, filename=filename, repo_type="dataset", revision=revision,
            cache_dir=str(cache_dir) if cache_dir else None, endpoint=endpoint,
        )
    except Exception as exc:  # the hub client raises many types; all mean "no data"
        raise FetchError(
            f"could not download {filename} from {repo_id}"
            + (f"@{revision}" if revision else "") + f": {type(exc).__name__}: {exc}"
        ) from exc
    path = Path(local)
    commit = path.parent.name if path.parent.parent.name == "snapshots" else None
    return path, commit


def _scratch_parent(path: Path) -> Path:
    """Where to unpack: the hub cache folder the archive was downloaded to (room for the
    download suggests room for its contents), outside the repository's own cache entry."""
    for ancestor in path.parents:
        if ancestor.name == "snapshots":
            return ancestor.parent.parent
    return path.parent


def _release_folder(unpacked: Path) -> Path:
    """The folder to import: the unpacked root, or the one folder an archive wraps it in."""
    entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and entries[0].name not in ("results", "bench"):
        return entries[0]
    return unpacked


def fetch_archive_and_import(
    store: Store, repo_id: str, archive: str, fmt: str, name: str, *,
    revision: str | None = None, cache_dir: str | Path | None = None, replace: bool = False,
    endpoint: str | None = None, max_bytes: int | None = None,
) -> tuple[Path, ImportResult]:
    """Download ``archive`` from ``repo_id``, unpack it safely, import it as bench ``name``.

    All-or-nothing: an archive with a refused member, one over the size cap, or one whose
    files fail the format's checks stores nothing (an existing bench of that name is left as
    it was). The unpacked copy is removed afterwards; the archive stays in the hub cache.
    """
    from routerbench_core.data.archive import DEFAULT_MAX_BYTES, ArchiveError, unpack
    from routerbench_core.data.store import validate_bench_name

    validate_bench_name(name)  # fail before a long download, not after
    if store.has_bench(name) and not replace:
        from routerbench_core.data.store import StoreError

        raise StoreError(
            f"bench {name!r} already exists in {store.path}; choose another --name, pass "
            f"--replace, or delete it first with `rbench data delete {name}`"
        )
    path, commit = download_archive(repo_id, archive, revision=revision, cache_dir=cache_dir,
                                    endpoint=endpoint)
    work = Path(tempfile.mkdtemp(prefix=".rbench-unpack-", dir=_scratch_parent(path)))
    try:
        try:
            unpacked = unpack(path, work / "release",
                              max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
        except ArchiveError as exc:
            raise FetchError(f"{archive} from {repo_id} was not unpacked: {exc}") from None
        result = import_bench(store, fmt, _release_folder(unpacked), name, replace=replace)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    store.update_bench_metadata(
        name, fetched_from={"repo_id": repo_id, "revision": revision, "archive": archive,
                            "commit": commit},
    )
    return path, result
