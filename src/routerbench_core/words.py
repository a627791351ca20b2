"""Reading words users type: boolean flags and "did you mean" suggestions, one rule each.

Every command, the plugin host, the importers, the store, embedder options and router
parameters use these two functions, so ``--param x.refit=off``, ``RBENCH_STRICT_PLUGINS=on``
and ``--embedder-option bigrams=no`` mean the same thing, and every unknown name gets the same
kind of hint.
"""

from __future__ import annotations

from collections.abc import Sequence

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def is_true(text: str | None) -> bool:
    """Lenient reading, for environment variables: true only for 1/true/yes/on (any case);
    anything else, unset included, is false."""
    return (text or "").strip().lower() in TRUE_WORDS


def parse_flag(value: object, name: str = "value") -> bool:
    """Strict reading, for options: a bool, or 1/true/yes/on / 0/false/no/off (any case); any
    other value is a ``ValueError`` naming ``name``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be true or false (1/0, yes/no, on/off), got {value!r}")


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """`` Did you mean a, b?`` for the close matches of ``name`` among ``choices``, or ``""``."""
    import difflib  # only when a name is unknown: `rbench list` never pays for it

    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" Did you mean {', '.join(close)}?" if close else ""
