"""Code extraction from model output and sanitising."""

from __future__ import annotations

import ast

import pytest

from routerbench_core.scoring.code import code_blocks, extract_code, sanitize_code

ANSWER = '''Here is an example of usage:

```python
print(add(1, 2))
```

And the solution:

```python
def add(a, b):
    return a + b
```

```text
3
```
'''


def test_extract_picks_block_defining_entry_point() -> None:
    assert extract_code(ANSWER, entry_point="add") == "def add(a, b):\n    return a + b\n"


def test_extract_without_entry_point_takes_last_python_block() -> None:
    assert extract_code(ANSWER) == "def add(a, b):\n    return a + b\n"


def test_extract_handles_unclosed_fence_and_tildes() -> None:
    assert extract_code("```py\ndef f():\n    return 1") == "def f():\n    return 1\n"
    assert extract_code("~~~\nx = 1\n~~~") == "x = 1\n"


def test_extract_unfenced_code_and_prose() -> None:
    assert extract_code("def f(x):\n    return x\n") == "def f(x):\n    return x\n"
    assert extract_code("I cannot solve this.") is None
    assert extract_code(None) is None
    assert extract_code("<think>```python\ndef g(): pass\n```</think>no code") is None


def test_code_blocks_reports_languages() -> None:
    assert [tag for tag, _ in code_blocks(ANSWER)] == ["python", "python", "text"]


def test_sanitize_drops_demo_code_and_keeps_definitions() -> None:
    code = '''import math
from collections import deque
MOD = int(1e9) + 7
TABLE = [i * i for i in range(4)]
data = input()

def f(x):
    return math.sqrt(x) % MOD

class Helper:
    pass

print(f(4))
assert f(4) == 2
for i in range(3):
    print(i)
if __name__ == "__main__":
    f(9)
'''
    out = sanitize_code(code, entry_point="f")
    names = [type(n).__name__ for n in ast.parse(out).body]
    assert names == ["Import", "ImportFrom", "Assign", "Assign", "FunctionDef", "ClassDef"]
    assert "input()" not in out and "print" not in out and "__main__" not in out


def test_sanitize_cuts_a_truncated_tail_only_when_the_token_limit_was_hit() -> None:
    code = "def f(x):\n    return x + 1\n\ndef g(y):\n    return (y +"
    assert sanitize_code(code, truncated=True) == "def f(x):\n    return x + 1\n"
    # a model that finished normally wrote a syntax error: graded as written, so it fails
    assert sanitize_code(code) == code


def test_a_finished_answer_with_a_syntax_error_is_not_cut() -> None:
    """The HumanEval/53 false positive: a valid prefix followed by a syntax error."""
    code = "def add(x: int, y: int):\n    return x + y\nz = 1e**64\n"
    out = sanitize_code(code, entry_point="add")
    with pytest.raises(SyntaxError):
        ast.parse(out)
    assert extract_code(code, entry_point="add") is None  # unfenced: not valid code at all
    assert extract_code(code, entry_point="add", truncated=True) == (
        "def add(x: int, y: int):\n    return x + y\n")


def test_sanitize_keeps_original_if_entry_point_would_vanish() -> None:
    code = "print('hello')\n"
    assert sanitize_code(code, entry_point="f") == code


def test_windows_line_endings_and_code_llama_tags() -> None:
    """Real RouterBench MBPP answers: CRLF fences ran on into the prose; [PYTHON] was unseen."""
    crlf = "Here:\r\n\r\n```python\r\ndef f(x):\r\n    return x\r\n```\r\n\r\nThe `f` function's done."
    assert extract_code(crlf, entry_point="f") == "def f(x):\n    return x\n"
    tagged = "[PYTHON]\ndef g(y):\n    return y\n[/PYTHON]\n[TESTS]\nassert g(1) == 1\n[/TESTS]"
    assert extract_code(tagged, entry_point="g") == "def g(y):\n    return y\n"


def test_a_usage_example_after_the_solution_is_not_taken_for_it() -> None:
    text = ("```python\ndef babylonian_sqrt(n):\n    return n ** 0.5\n```\nFor example:\n"
            "```python\n>>> babylonian_sqrt(25)\n5.0\n```")
    assert extract_code(text, entry_point="other_name") == (
        "def babylonian_sqrt(n):\n    return n ** 0.5\n")
