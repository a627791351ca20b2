"""Names that become file paths: checked or escaped so nothing is written outside its folder.

Dataset, split, model and bench names come from imported files and configs; a name such as
``..``, ``/etc`` or ``a/../../b`` must never steer a write. Exporters escape names into one safe
path component (the exact name travels inside the file); names the user gives for a download
or an output are refused with the reason.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class UnsafePathError(ValueError):
    """A name would reach outside the folder it is meant for."""


def path_component(name: str) -> str:
    """``name`` as one safe file or folder name.

    A name that is already safe (letters, digits, ``.``, ``_``, ``-``; not ``.``/``..``; not
    hidden) is kept as it is. Any other name is escaped and given a short hash of the original,
    so two different names never share a folder (``a/b`` and ``a_b`` stay apart).
    """
    if name and not _UNSAFE.search(name) and not name.startswith("."):
        return name
    escaped = _UNSAFE.sub("_", name).lstrip(".") or "_"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{escaped[:80]}-{digest}"


def check_component(value: str, what: str) -> str:
    """Refuse a user-given name that is not a plain relative name (no ``..``, no absolute
    path, no separator, no NUL)."""
    if "\x00" in value:
        raise UnsafePathError(f"{what} {value!r} contains a NUL byte")
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise UnsafePathError(f"{what} {value!r} must be a plain name without '/', '\\' or "
                              "'..'")
    return value


def check_relative(value: str, what: str) -> str:
    """Refuse a user-given relative path that is absolute or climbs out (``..``), or has NUL."""
    if "\x00" in value:
        raise UnsafePathError(f"{what} {value!r} contains a NUL byte")
    posix, win = PurePosixPath(value), PureWindowsPath(value)
    if posix.is_absolute() or win.is_absolute() or win.drive:
        raise UnsafePathError(f"{what} {value!r} must be a relative path inside the repository")
    if ".." in posix.parts or ".." in win.parts:
        raise UnsafePathError(f"{what} {value!r} must not contain '..'")
    return value


def inside(root: Path, target: Path) -> Path:
    """``target``, after checking that it resolves inside ``root`` (symlinks followed)."""
    r, t = Path(os.path.realpath(root)), Path(os.path.realpath(target))
    if t != r and r not in t.parents:
        raise UnsafePathError(f"refusing to write {target}: it is outside {root}")
    return target


def check_output_file(path: Path, option: str) -> None:
    """Before long work: the folder of an output file exists and is writable."""
    if "\x00" in str(path):
        raise UnsafePathError(f"{option} {str(path)!r} contains a NUL byte")
    if path.is_dir():
        raise UnsafePathError(f"{option} {path} is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UnsafePathError(f"{option} {path}: folder {parent} does not exist; create it "
                              "first or choose another path")
    if not os.access(parent, os.W_OK):
        raise UnsafePathError(f"{option} {path}: folder {parent} is not writable")
