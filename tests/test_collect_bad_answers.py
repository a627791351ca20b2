"""No answer can crash a collect: text with lone surrogates, raw bytes that are not UTF-8 and
impossible usage numbers, sent by a real loopback server to a real ``rbench collect``.

The bad text is stored with U+FFFD in place of each bad character and the exact original kept
in the response's metadata (so nothing is lost); impossible usage makes that one response a
failure with the reason; every other answer is stored, and the CLI names the bad ones.
"""

from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.data.store import Store
from routerbench_core.testing.openai_server import OpenAIServer

_spec = importlib.util.spec_from_file_location(
    "rbench_test_collect_support", Path(__file__).with_name("test_collect_support.py"))
assert _spec and _spec.loader
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)

N = 12


def _reply(body: dict[str, Any]) -> str:
    i = int(re.match(r"q(\d+):", body["messages"][-1]["content"]).group(1))  # type: ignore[union-attr]
    if i == 3:
        return f"q{i}: {2 * i} \udcff\ud800 end"  # lone surrogates, sent as JSON escapes
    return f"q{i}: {2 * i}"


def _collect(tmp_path: Path, server: OpenAIServer, *extra: str) -> tuple[int, str]:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"models:\n  - {{name: toy, base_url: '{server.url}', input_price: 1, output_price: 1,"
        " options: {max_retries: 0}}\n"
        f"datasets:\n  - {{name: toyadd, options: {{n: {N}}}}}\nrun: {{concurrency: 1}}\n")
    host = support.make_host()
    result = CliRunner().invoke(
        build_app(host), ["collect", "--config", str(config), "--store", str(tmp_path / "s.db"),
                          "--bench", "b", "--no-progress", *extra], obj=State(host=host))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"the collect crashed: {result.exception!r}\n{result.output}"
                             ) from result.exception
    return result.exit_code, result.output


def test_bad_answers_are_stored_or_failed_and_the_run_goes_on(tmp_path: Path) -> None:
    with OpenAIServer(reply=_reply) as server:
        server.inject("invalid-utf8", match="q5:")
        server.inject("negative-usage", match="q7:")
        code, out = _collect(tmp_path, server)
        assert server.count() == N
    assert code == 1, out  # one failure (the impossible usage): the run says so
    with Store(tmp_path / "s.db") as store:
        rows = {r.query_key: r for r in store.responses("b")}
        grades = {g.query_key: g for g in store.grades("b")}
        assert store.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(rows) == N
    for i in range(N):
        if i not in (3, 5, 7):
            assert rows[f"toyadd/{i}"].ok and rows[f"toyadd/{i}"].raw_output == f"q{i}: {2 * i}"

    # lone surrogates: replaced, the exact text kept (lossless), a note recorded and shown
    r3 = rows["toyadd/3"]
    assert r3.ok and r3.raw_output == "q3: 6 \ufffd\ufffd end"
    note = r3.metadata["invalid_text"]["raw_output"]
    original = base64.b64decode(note["original"]).decode("utf-8", note["errors"])
    assert original == "q3: 6 \udcff\ud800 end"
    assert grades["toyadd/3"].score == 1.0  # still gradable

    # raw invalid UTF-8 from the server: the bytes themselves are kept
    r5 = rows["toyadd/5"]
    assert r5.ok and r5.raw_output.startswith("\ufffd\ufffd")
    note5 = r5.metadata["invalid_text"]["raw_output"]
    assert base64.b64decode(note5["original"]).startswith(b"\xff\xfe")

    # impossible usage: a failure of that response, with the reason; never graded or cached
    r7 = rows["toyadd/7"]
    assert not r7.ok and "prompt_tokens" in (r7.error or "") and "-5" in (r7.error or "")
    assert "toyadd/7" not in grades

    assert "toyadd/3" in out and "toyadd/5" in out and "invalid text" in out
    assert "toyadd/7" in out and "prompt_tokens" in out


def test_a_rerun_asks_only_the_failed_one(tmp_path: Path) -> None:
    with OpenAIServer(reply=_reply) as server:
        server.inject("invalid-utf8", match="q5:")
        server.inject("negative-usage", match="q7:")
        _collect(tmp_path, server)
        server.reset()
        code, out = _collect(tmp_path, server)
        assert code == 0, out
        assert server.count() == 1 and "q7:" in server.requests[0].text
    with Store(tmp_path / "s.db") as store:
        assert all(r.ok for r in store.responses("b"))
