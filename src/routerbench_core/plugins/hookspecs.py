"""The hooks a plugin implements.

Each hook receives a ``register`` callback and calls it once per thing it provides, in the
style of simonw/llm. Registration is cheap: a name, a ``"module:attr"`` target that is only
imported when the thing is used, a one-line summary, capabilities and the import names it needs.

Hooks may only ever gain arguments; pluggy lets an implementation accept a subset of them, so
older plugins keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from routerbench_core.plugins.spec import Register

PROJECT = "rbench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_backends(register: Register) -> None:
    """Register generation backends (an OpenAI-compatible client, vLLM, ...).

    :param register: call ``register(name, target, summary, capabilities=..., requires=...)``
        once per backend; ``target`` names a :class:`routerbench_core.collection.backends.Backend`
        subclass as ``"module:Class"``.

    .. versionadded:: 0.1
    """


@hookspec
def register_datasets(register: Register) -> None:
    """Register benchmark datasets.

    :param register: call once per dataset; ``target`` names a
        :class:`routerbench_core.scoring.datasets.Dataset` subclass. Capabilities should carry
        ``category``, ``size``, ``metric``, ``settings`` and ``shots`` so ``rbench list``
        can show them without importing the dataset.

    .. versionadded:: 0.1
    """


@hookspec
def register_routers(register: Register) -> None:
    """Register routers.

    :param register: call once per router; ``target`` names a
        :class:`routerbench_core.routing.router.Router` subclass. Capabilities should carry
        ``settings`` (``["perf"]``, ``["perf-cost"]`` or both).

    .. versionadded:: 0.1
    """


@hookspec
def register_embedders(register: Register) -> None:
    """Register text embedders used by routers.

    :param register: call once per embedder; ``target`` names a
        :class:`routerbench_core.embedding.base.Embedder` subclass.

    .. versionadded:: 0.1
    """


@hookspec
def register_importers(register: Register) -> None:
    """Register import formats for ``rbench data import FORMAT PATH``.

    :param register: call once per format; ``target`` names a function
        ``parse(path: Path, **options: str) -> ImportedBench | ImportedRecords`` that reads and
        validates ``path`` without touching any store (errors raise
        :class:`routerbench_core.DataFormatError`). Capabilities may carry ``options``
        (``{"name": "help", ...}``: the ``-o name=value`` options the format accepts) and
        ``suffixes``. A format that returns :class:`routerbench_core.ImportedRecords` (queries,
        responses and grades as objects) can also add to an existing bench (``--add``).

    .. versionadded:: 0.2
    """


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add sub-commands to the ``rbench`` command line.

    :param app: the root :class:`typer.Typer` application; add commands or sub-apps to it.
        Keep imports inside the command functions so ``rbench --help`` stays fast.

    .. versionadded:: 0.1
    """
