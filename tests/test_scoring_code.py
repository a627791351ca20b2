"""Code extraction from model output and sanitising."""

from __future__ import annotations

import ast

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


def test_sanitize_cuts_a_truncated_tail() -> None:
    code = "def f(x):\n    return x + 1\n\ndef g(y):\n    return (y +"
    assert sanitize_code(code) == "def f(x):\n    return x + 1\n"


def test_sanitize_keeps_original_if_entry_point_would_vanish() -> None:
    code = "print('hello')\n"
    assert sanitize_code(code, entry_point="f") == code
