"""Finding the ``rbench`` entry points of installed distributions, cheaply.

``importlib.metadata`` imports the e-mail package and parses every installed distribution's
metadata with it; for ``rbench list --json`` that was half of the run. Entry points live in
plain files, so the common case (``*.dist-info`` / ``*.egg-info`` folders in the folders on
``sys.path``, which is what pip, editable installs included, leaves behind) is read here
directly, in ``sys.path`` order, first distribution of a name winning, as
``importlib.metadata`` does. Anything unusual (a zip file on the path, a custom finder of
distributions on ``sys.meta_path``) falls back to ``importlib.metadata``; a test checks both
agree on this machine.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class FoundEntryPoint:
    """One entry point: its name and ``module:attr`` value, and the distribution declaring it."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> Any:
        module_name, _, attr = self.value.partition(":")
        obj: Any = import_module(module_name.strip())
        for part in attr.strip().split(".") if attr.strip() else ():
            obj = getattr(obj, part)
        return obj


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def metadata_fields(text: str) -> dict[str, str]:
    """``Name`` and ``Version`` from a METADATA / PKG-INFO text (its header lines only)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first blank line
        key, sep, value = line.partition(":")
        if sep and key in ("Name", "Version") and key not in fields:
            fields[key] = value.strip()
    return fields


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """``(name, value)`` pairs of section ``[group]`` of an entry_points.txt (an INI file)."""
    out = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
            continue
        if inside:
            name, sep, value = line.partition("=")
            if sep:
                out.append((name.strip(), value.strip()))
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def _standard_finders_only() -> bool:
    """Whether every distribution finder on ``sys.meta_path`` is the standard one (the only
    one this module imitates)."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and finder is not PathFinder:
            return False
    return all(os.path.isdir(p) or not os.path.exists(p) for p in (p or "." for p in sys.path))


def _scan(group: str) -> list[FoundEntryPoint] | None:
    """The entry points of ``group``, read from the folders on ``sys.path``; None when the
    environment is one this scanner does not imitate."""
    if not _standard_finders_only():
        return None
    found: list[FoundEntryPoint] = []
    seen: set[str] = set()
    for folder in sys.path:
        folder = folder or "."
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info"):
                meta_file = "METADATA"
            elif entry.endswith(".egg-info"):
                meta_file = "PKG-INFO"
            else:
                continue
            info = os.path.join(folder, entry)
            if not os.path.isdir(info):
                return None  # a single-file egg-info: leave it to importlib.metadata
            fields = metadata_fields(_read(os.path.join(info, meta_file)) or "")
            name = fields.get("Name")
            if not name:
                return None
            key = _normalise(name)
            if key in seen:  # the same distribution further down the path is shadowed
                continue
            seen.add(key)
            text = _read(os.path.join(info, "entry_points.txt"))
            if text and f"[{group}]" in text.replace(" ", ""):
                found += [FoundEntryPoint(n, v, name, fields.get("Version", ""))
                          for n, v in _section(text, group)]
    return found


def entry_points_of(group: str) -> list[FoundEntryPoint]:
    """Every entry point of ``group`` in the environment, sorted by name."""
    found = _scan(group)
    if found is None:
        found = _with_importlib_metadata(group)
    return sorted(found, key=lambda e: e.name)


def _with_importlib_metadata(group: str) -> list[FoundEntryPoint]:
    from importlib.metadata import entry_points

    out = []
    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        if dist is None:
            name, version = ep.name, ""
        else:
            fields = metadata_fields(dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "")
            name = fields.get("Name") or dist.metadata["Name"] or ep.name
            version = fields.get("Version") or dist.version or ""
        out.append(FoundEntryPoint(ep.name, ep.value, name, version))
    return out
