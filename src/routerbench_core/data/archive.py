"""Unpack a downloaded release archive (``.tar.gz`` and the other tar forms) without trusting it.

A release archive comes from the network, so every member is checked before it is written:
no absolute path, no ``..`` component, no link (symbolic or hard) that points outside the
archive, no device file or FIFO, and a cap on the total bytes unpacked and on the number of
members (a "tar bomb" fails with a clear error instead of filling the disk). Each member that
passes is then extracted with ``tarfile``'s ``data`` filter, which repeats the containment
checks against the real destination on disk (a symlink planted by an earlier member cannot
carry a later one outside). Extraction goes into a fresh folder that the caller owns; when a
member is refused, that folder is removed whole, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import posixpath
import shutil
import tarfile
from pathlib import Path

#: Default cap on the bytes an archive may unpack to. The seed's release is a few GB of JSON;
#: the cap only has to stop an archive that would fill the disk.
DEFAULT_MAX_BYTES = 64 * 1024**3
#: Default cap on the number of members (files, folders and links).
DEFAULT_MAX_MEMBERS = 2_000_000


class ArchiveError(ValueError):
    """The archive is unsafe, too large or unreadable; the message names the member."""


def _clean_name(name: str, what: str) -> str:
    """``name`` as a normalised relative POSIX path, or :class:`ArchiveError`."""
    if not name or "\x00" in name:
        raise ArchiveError(f"{what} {name!r}: empty or NUL in the name")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"{what} {name!r}: absolute path")
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise ArchiveError(f"{what} {name!r}: a '..' component climbs out of the archive")
    return posixpath.normpath(name.replace("\\", "/"))


def check_member(member: tarfile.TarInfo) -> None:
    """Refuse a member that could write outside the destination or is not plain data."""
    name = _clean_name(member.name, "member")
    if member.issym():
        target = member.linkname
        if not target or target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
            raise ArchiveError(f"symlink {member.name!r} -> {target!r}: absolute link target")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
            raise ArchiveError(
                f"symlink {member.name!r} -> {target!r} points outside the archive")
    elif member.islnk():
        _clean_name(member.linkname, f"hard link {member.name!r} ->")
    elif member.ischr() or member.isblk() or member.isfifo():
        raise ArchiveError(f"member {member.name!r} is a device file or FIFO")
    elif not (member.isreg() or member.isdir()):
        raise ArchiveError(f"member {member.name!r} has an unsupported type {member.type!r}")


def unpack(
    archive: str | Path, dest: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
    max_members: int = DEFAULT_MAX_MEMBERS,
) -> Path:
    """Unpack ``archive`` into the new folder ``dest`` (which must not exist); return ``dest``.

    All-or-nothing: if any member is refused or the archive is damaged, ``dest`` is removed
    and :class:`ArchiveError` says which member and why.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        raise ArchiveError(f"unpack folder {dest} already exists")
    dest.mkdir(parents=True)
    total = 0
    count = 0
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:  # one sequential pass: each member is checked, then written
                count += 1
                if count > max_members:
                    raise ArchiveError(
                        f"{archive.name} has more than {max_members:,} members; refusing to "
                        "unpack it (raise the cap if this archive is trusted)")
                check_member(member)
                if member.isreg():
                    total += member.size
                    if total > max_bytes:
                        raise ArchiveError(
                            f"{archive.name} unpacks to more than {max_bytes:,} bytes (at "
                            f"member {member.name!r}); refusing to fill the disk. Free space "
                            "and pass a larger --max-unpacked-gb if the archive is trusted")
                try:
                    tar.extract(member, dest, filter="data", set_attrs=False)
                except tarfile.FilterError as exc:
                    raise ArchiveError(f"member {member.name!r} refused: {exc}") from None
    except ArchiveError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (tarfile.TarError, EOFError, OSError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise ArchiveError(f"cannot unpack {archive}: {type(exc).__name__}: {exc}") from None
    return dest
