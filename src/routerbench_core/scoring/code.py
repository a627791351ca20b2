"""Getting runnable code out of a model's answer.

Models wrap code in Markdown fences, often several (an example, the solution, a usage demo),
sometimes truncated mid-block, sometimes with a ``__main__`` demo or stray prints after the
function. :func:`extract_code` picks the block that defines the function the tests call (else the
last Python block); :func:`sanitize_code` keeps only the definitions and imports a test harness
needs, so a model's own demo code cannot crash, hang or print over the tests.
"""

from __future__ import annotations

import ast
import re

from routerbench_core.scoring.extract import strip_reasoning

__all__ = ["SEED_IMPORT_PREAMBLE", "code_blocks", "extract_code", "sanitize_code"]

#: The imports LLMRouterBench's HumanEval/MBPP graders put before every answer, so an answer
#: that uses ``math`` or ``List`` without importing it passes there. The same modules here;
#: numpy only where it is installed (the sandbox's interpreter may lack it).
SEED_IMPORT_PREAMBLE = (
    "import math\nimport re\nimport sys\nimport copy\nimport datetime\nimport itertools\n"
    "import collections\nimport heapq\nimport functools\nimport hashlib\nimport string\n"
    "try:\n    import numpy\n    import numpy as np\nexcept ImportError:\n    pass\n"
    "from typing import *\nfrom collections import *\n"
)

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)",
                    re.DOTALL | re.MULTILINE)

_PY_TAGS = {"python", "py", "python3", "py3", "ipython", ""}


_PYTHON_TAGS = re.compile(r"\[PYTHON\]\s*\n?(.*?)(?:\[/PYTHON\]|\Z)", re.DOTALL)


def code_blocks(text: str) -> list[tuple[str, str]]:
    """All fenced blocks as ``(language tag, code)`` in order; an unclosed last fence counts.

    Code Llama's ``[PYTHON] ... [/PYTHON]`` blocks count as Python fences. Windows line endings
    are read as plain ones (a closing fence followed by ``\\r`` still closes its block).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]
    if not blocks:
        blocks = [("python", m.group(1)) for m in _PYTHON_TAGS.finditer(text)]
    return blocks


_DEFINITION = re.compile(r"^\s*(?:async\s+def|def|class)\s+\w+", re.MULTILINE)


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.MULTILINE) is not None


def extract_code(
    text: str | None, *, entry_point: str | None = None, language: str = "python",
    truncated: bool = False,
) -> str | None:
    """The code in ``text``: the best fenced block, or the whole text if it parses as code.

    Preference: the last block in ``language`` (or untagged) that defines ``entry_point``; else
    the last such block of any kind that defines it; else the last ``language`` block that
    defines any function or class (not a usage example after it); else the last ``language``
    block; else the last block. With no fences, the reasoning-stripped text itself if it is valid Python
    (or, for an answer cut off by the token limit, its longest parsing line prefix).
    """
    if not text:
        return None
    visible = strip_reasoning(text).replace("\r\n", "\n").replace("\r", "\n")
    blocks = code_blocks(visible)
    tags = _PY_TAGS if language == "python" else {language.lower(), ""}
    if blocks:
        in_language = [code for tag, code in blocks if tag in tags]
        if entry_point:
            for pool in (in_language, [code for _, code in blocks]):
                defining = [code for code in pool if _defines(code, entry_point)]
                if defining:
                    return defining[-1].rstrip() + "\n"
        pool = in_language or [code for _, code in blocks]
        # no block defines the tested name: a block with definitions beats a usage example
        defining_any = [code for code in pool if _DEFINITION.search(code)]
        chosen = (defining_any or pool)[-1]
        return chosen.rstrip() + "\n"
    if language == "python":
        try:
            ast.parse(visible)
        except SyntaxError:
            if truncated and _parse_prefix(visible) is not None:
                return _prefix_text(visible)
            return None
        return visible.rstrip() + "\n"
    return None


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _prefix_end(code: str) -> int | None:
    """How many lines of ``code`` form its longest parsing prefix (all of them if it parses)."""
    lines = code.splitlines()
    for end in range(len(lines), 0, -1):
        try:
            ast.parse("\n".join(lines[:end]))
        except (SyntaxError, ValueError):
            continue
        return end
    return None


def _prefix_text(code: str) -> str:
    end = _prefix_end(code) or 0
    return "\n".join(code.splitlines()[:end]).rstrip() + "\n"


def _parse_prefix(code: str) -> ast.Module | None:
    """Parse ``code``; if it fails (an answer cut off by the token limit), the longest
    parseable line prefix."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        pass
    end = _prefix_end(code)
    return None if end is None else ast.parse("\n".join(code.splitlines()[:end]))


_KEEP = (
    ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
    ast.Assign, ast.AnnAssign,
)


def sanitize_code(
    code: str, *, entry_point: str | None = None, truncated: bool = False
) -> str:
    """Only the top-level imports, definitions and constant assignments of ``code``.

    Dropped: ``if __name__ == "__main__":`` blocks, bare calls and prints, loops, asserts —
    the model's own demo or tests. Assignments are kept (helper tables, ``sys.setrecursionlimit``
    style calls are not). Code that does not parse is graded **as written** (it fails, as the
    official harnesses fail it), except when ``truncated`` — the answer hit the token limit —
    where the unfinished tail is cut at the last line that parses. If ``entry_point`` is given
    and the sanitised code does not define it, the original code is returned unchanged so the
    test failure says "name not defined" honestly rather than being hidden by sanitising.
    """
    if truncated:
        tree = _parse_prefix(code)
    else:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return code  # a syntax error the model finished with: it must fail, not be cut
    if tree is None:
        return code
    kept = [node for node in tree.body if isinstance(node, _KEEP) and not _is_main_guard(node)]
    # keep assignments only if they do not call anything (input() at top level would block)
    kept = [
        node
        for node in kept
        if not isinstance(node, ast.Assign | ast.AnnAssign)
        or not any(isinstance(sub, ast.Call) for sub in ast.walk(node))
        or _is_pure_call_assignment(node)
    ]
    result = ast.unparse(ast.Module(body=kept, type_ignores=[])) + "\n"
    if entry_point and not _defines(result, entry_point):
        return code
    return result


_SAFE_CALLS = {
    "set", "dict", "list", "tuple", "frozenset", "range", "int", "float", "str", "len",
    "defaultdict", "Counter", "deque", "namedtuple", "compile", "TypeVar", "field",
}


def _is_pure_call_assignment(node: ast.stmt) -> bool:
    """An assignment whose calls are all simple constructors (``MOD = int(1e9) + 7``)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name not in _SAFE_CALLS:
                return False
    return True
