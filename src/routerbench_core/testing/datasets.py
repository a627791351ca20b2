"""Conformance tests every dataset plugin runs (ours and third parties').

Subclass :class:`DatasetConformance` in the plugin's tests, point it at the plugin's small
fixture and give a known-good and a known-bad model answer for every fixture item::

    class TestAimeConformance(DatasetConformance):
        dataset_name = "aime"
        fixture = Path(__file__).parent / "fixtures" / "aime.jsonl"
        good_answers = {"2024-I-1": "... \\\\boxed{204}"}
        bad_answers = {"2024-I-1": "... \\\\boxed{205}"}

The class name does not start with ``Test`` so pytest collects only the subclasses. Each test
checks one promise of the dataset contract: metadata that ``rbench list`` can show, a loader that
reads its own fixture and reports bad files clearly, chat prompts that never leak the hidden
answer or tests, grades stamped with the grader's name and version, known-good answers scoring
1 and known-bad 0, and failed calls refused rather than scored 0.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, get_args

import pytest

from routerbench_core.schema import Grade, Query, Response
from routerbench_core.scoring.datasets import METADATA_KEYS, Category, Dataset, DatasetError

__all__ = ["DatasetConformance", "hidden_strings"]

SETTINGS = {"perf", "perf-cost"}
ROLES = {"system", "user", "assistant"}
#: Ground-truth strings at least this long must never appear in a prompt.
MIN_HIDDEN_CHARS = 12


def hidden_strings(value: Any, *, min_chars: int = MIN_HIDDEN_CHARS) -> list[str]:
    """Every string leaf of a ground truth long enough that seeing it in a prompt is a leak.

    Short answers ("B", "42") appear in prompts by coincidence, so only the long ones (test
    code, reference solutions, long answers) are checked; each line of a multi-line leaf is
    checked too, so one leaked assert is caught.
    """
    found: list[str] = []
    if isinstance(value, str):
        if len(value.strip()) >= min_chars:
            found.append(value.strip())
            found.extend(
                line.strip() for line in value.splitlines()
                if len(line.strip()) >= min_chars and line.strip().startswith("assert")
            )
    elif isinstance(value, Mapping):
        for item in value.values():
            found.extend(hidden_strings(item, min_chars=min_chars))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(hidden_strings(item, min_chars=min_chars))
    return found


class DatasetConformance:
    """Base test class: set the class attributes, inherit the tests."""

    #: The name the plugin registers (``rbench list datasets``).
    dataset_name: ClassVar[str]
    #: A small local fixture in the dataset's real format, read with ``load(fixture)``.
    fixture: ClassVar[Path]
    #: Query id -> a model answer that must score 1 (one for every fixture item).
    good_answers: ClassVar[Mapping[str, str]]
    #: Query id -> a model answer that must score 0 (one for every fixture item).
    bad_answers: ClassVar[Mapping[str, str]]
    #: Keyword arguments for the dataset's constructor.
    options: ClassVar[Mapping[str, Any]] = {}
    #: Extra keyword arguments for ``grade`` (e.g. a judge backend).
    grade_context: ClassVar[Mapping[str, Any]] = {}
    #: Set False for datasets whose items legitimately have no public hub repository.
    expects_hub: ClassVar[bool] = True

    # -- helpers ---------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    @classmethod
    def spec(cls) -> Any:
        from routerbench_core.plugins.manager import make_plugin_manager

        host = make_plugin_manager()
        return host.get("dataset", cls.dataset_name)

    @pytest.fixture(scope="class")
    @classmethod
    def dataset(cls, spec: Any) -> Dataset:
        return spec.load()(**dict(cls.options))

    @pytest.fixture(scope="class")
    @classmethod
    def queries(cls, dataset: Dataset) -> list[Query]:
        return dataset.load(cls.fixture)

    def _response(self, query: Query, text: str | None, **kwargs: Any) -> Response:
        return Response(query_key=query.key, model="conformance-model", raw_output=text, **kwargs)

    def _grade_all(
        self, dataset: Dataset, queries: list[Query], answers: Mapping[str, str]
    ) -> dict[str, Grade]:
        by_id = {q.id: q for q in queries}
        items = [(by_id[qid], self._response(by_id[qid], text)) for qid, text in answers.items()]
        grades = dataset.grade_many(items, workers=2, **dict(self.grade_context))
        assert len(grades) == len(items), "grade_many must return one grade per item"
        return {query.id: grade for (query, _), grade in zip(items, grades, strict=True)}

    # -- metadata --------------------------------------------------------------------------

    def test_registered_with_listing_capabilities(self, spec: Any) -> None:
        assert spec.status == "ok", spec.status
        assert spec.summary.strip(), "register() needs a one-line summary"
        cls = spec.load()
        assert issubclass(cls, Dataset), f"{spec.target} is not a routerbench_core Dataset"
        caps = dict(spec.capabilities)
        for key in METADATA_KEYS:
            assert key in caps, f"capabilities lack {key!r} (rbench list shows it)"
        assert cls.name == self.dataset_name

    def test_class_reads_its_metadata_from_its_spec(self, spec: Any) -> None:
        """The metadata is written once, in plugin.py; a class that repeats it (and may drift)
        instead of ``class X(Dataset, capabilities=CAPABILITIES)`` fails here."""
        cls = spec.load()
        caps = dict(spec.capabilities)
        assert cls.capabilities, (
            f"{cls.__name__} does not read its metadata from its spec; declare it once in "
            "plugin.py's CAPABILITIES and write class X(..., capabilities=CAPABILITIES)"
        )
        for key in METADATA_KEYS:
            want = tuple(caps[key]) if key == "settings" else caps[key]
            assert getattr(cls, key) == want, (key, getattr(cls, key), want)

    def test_metadata_is_sane(self, spec: Any) -> None:
        cls = spec.load()
        caps = dict(spec.capabilities)
        assert caps["category"] in get_args(Category), f"unknown category {caps['category']!r}"
        assert isinstance(caps["size"], int) and caps["size"] > 0
        assert isinstance(caps["metric"], str) and caps["metric"]
        assert caps["settings"] and set(caps["settings"]) <= SETTINGS, caps["settings"]
        assert isinstance(caps["shots"], int) and caps["shots"] >= 0
        assert isinstance(cls.grader_version, str) and cls.grader_version.strip()
        if not self.expects_hub:
            return
        dataset = cls(**dict(self.options))
        sources = (
            [(s.repo_id, s.revision) for s in dataset.sources()]
            if hasattr(dataset, "sources")
            else [(cls.hub_id, cls.hub_revision)]
        )
        assert sources and all(repo for repo, _ in sources), (
            "set hub_id (or hub_sources) to the benchmark's public hub repository, or set "
            "expects_hub = False in the conformance test if it has none"
        )
        for repo, revision in sources:
            assert revision not in {"main", "master"}, (
                f"{repo}: pin the revision to a commit or tag, not a moving branch"
            )
        unpinned = [repo for repo, revision in sources if not revision]
        if unpinned:
            pytest.skip(f"hub revision not pinned yet for {', '.join(sorted(set(unpinned)))} (see README)")

    # -- loading ---------------------------------------------------------------------------

    def test_loads_fixture(self, dataset: Dataset, queries: list[Query]) -> None:
        assert queries, "the fixture must hold at least one item"
        ids = [q.id for q in queries]
        assert len(set(ids)) == len(ids), "query ids must be unique"
        assert len({q.key for q in queries}) == len(queries)
        for query in queries:
            assert query.dataset == self.dataset_name
            assert query.text.strip(), f"{query.id}: empty question text"
            assert query.ground_truth is not None, f"{query.id}: no ground truth"
        assert len(dataset.load(self.fixture, limit=1)) == 1
        again = dataset.load(self.fixture)
        assert [q.model_dump() for q in again] == [q.model_dump() for q in queries], (
            "loading must be deterministic"
        )

    def test_answers_cover_every_fixture_item(self, queries: list[Query]) -> None:
        ids = {q.id for q in queries}
        assert set(self.good_answers) == ids, "give a known-good answer for every fixture item"
        assert set(self.bad_answers) == ids, "give a known-bad answer for every fixture item"

    def test_missing_data_file_is_a_clear_error(self, dataset: Dataset, tmp_path: Path) -> None:
        missing = tmp_path / "nowhere.jsonl"
        with pytest.raises(DatasetError, match="nowhere.jsonl"):
            dataset.load(missing)

    def test_malformed_data_file_is_a_clear_error(self, dataset: Dataset, tmp_path: Path) -> None:
        wrong = tmp_path / "wrong.jsonl"
        wrong.write_text(json.dumps({"unrelated": "record"}) + "\n", encoding="utf-8")
        with pytest.raises(DatasetError, match="wrong.jsonl"):
            dataset.load(wrong)

    def test_no_local_file_without_hub_library_is_a_clear_error(self, dataset: Dataset) -> None:
        if importlib.util.find_spec("datasets") is not None:
            pytest.skip("the `datasets` library is installed; tests never touch the hub")
        with pytest.raises(DatasetError, match="--data-file"):
            dataset.load(None)

    # -- prompts ---------------------------------------------------------------------------

    def test_prompts_are_chat_messages_without_hidden_answers(
        self, dataset: Dataset, queries: list[Query]
    ) -> None:
        for query in queries:
            messages = dataset.build_messages(query)
            assert isinstance(messages, list) and messages, f"{query.id}: no messages"
            for message in messages:
                assert set(message) >= {"role", "content"}, message
                assert message["role"] in ROLES, message["role"]
                assert isinstance(message["content"], str) and message["content"].strip()
            assert messages[-1]["role"] == "user", "the last message must be the user's turn"
            assert query.text.strip()[:200] in "\n".join(m["content"] for m in messages) or (
                self._question_is_rendered(query, messages)
            ), f"{query.id}: the question text does not appear in the prompt"
            prompt = "\n".join(m["content"] for m in messages)
            for secret in hidden_strings(query.ground_truth):
                assert secret not in prompt, f"{query.id}: the prompt leaks hidden {secret[:60]!r}"

    def _question_is_rendered(self, query: Query, messages: list[dict[str, Any]]) -> bool:
        """Override when a dataset reformats the question (the default demands it verbatim)."""
        return False

    # -- grading ---------------------------------------------------------------------------

    def test_known_good_answers_score_one(self, dataset: Dataset, queries: list[Query]) -> None:
        grades = self._grade_all(dataset, queries, self.good_answers)
        for qid, grade in grades.items():
            assert grade.score == 1.0, f"{qid}: known-good answer scored {grade.score}: {grade.details}"

    def test_known_bad_answers_score_zero(self, dataset: Dataset, queries: list[Query]) -> None:
        grades = self._grade_all(dataset, queries, self.bad_answers)
        for qid, grade in grades.items():
            assert grade.score == 0.0, f"{qid}: known-bad answer scored {grade.score}: {grade.details}"

    def test_grades_carry_grader_name_and_version(
        self, dataset: Dataset, queries: list[Query]
    ) -> None:
        query = queries[0]
        grade = dataset.grade(
            query, self._response(query, self.good_answers[query.id]), **dict(self.grade_context)
        )
        assert grade.grader == dataset.grader_name and grade.grader.strip()
        assert grade.grader_version == type(dataset).grader_version
        assert grade.query_key == query.key
        assert grade.model == "conformance-model"
        json.dumps(grade.details)  # details are stored as JSON

    def test_failed_responses_are_refused(self, dataset: Dataset, queries: list[Query]) -> None:
        query = queries[0]
        failed = self._response(query, None, error="HTTP 503: upstream overloaded")
        with pytest.raises((DatasetError, ValueError)):
            dataset.grade(query, failed, **dict(self.grade_context))

    def test_empty_answer_scores_zero(self, dataset: Dataset, queries: list[Query]) -> None:
        query = queries[0]
        grade = dataset.grade(query, self._response(query, ""), **dict(self.grade_context))
        assert grade.score in (0.0, None), "an empty answer must not score"
