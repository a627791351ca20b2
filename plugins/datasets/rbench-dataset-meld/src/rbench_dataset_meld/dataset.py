"""MELD (Poria et al., 2019): the emotion of an utterance from *Friends*, in context, asked as
a 7-way multiple-choice question (anger, disgust, fear, joy, neutral, sadness, surprise).

Two source formats are accepted:

* the multiple-choice records LLMRouterBench evaluates (one per line): ``history``,
  ``utterance``, ``candidate`` (``{"A": "anger", ...}``) and ``answer`` (a letter);
* the official release CSV ``test_sent_emo.csv`` (``Utterance``, ``Speaker``, ``Emotion``,
  ``Dialogue_ID``, ``Utterance_ID``, ...): every utterance becomes an item whose history is the
  earlier utterances of its dialogue, with the seven labels as options in a fixed order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from routerbench_core.datasets import DatasetError, TemplateDataset, read_records
from routerbench_core.schema import Query
from routerbench_core.scoring.choice import extract_choice, format_choices, score_choice

EMOTIONS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

PROMPT = """Identify the emotion expressed in the current utterance of this conversation, taking the conversation so far into account. Think step by step, then finish with a line of the form "Answer: $LETTER" (without quotes), where LETTER is one of {letters}.

Conversation so far:
{history}

Current utterance:
{question}

Options:
{options}"""

RELEASE_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


def history_text(history: list[str]) -> str:
    return "\n".join(f"- {h}" for h in history) if history else "(none: this is the first utterance)"


class MELD(TemplateDataset):
    """MELD emotion recognition, test split, as multiple choice."""

    name = "meld"
    category = "multiple-choice"
    size = 1232
    metric = "accuracy"
    settings = ("perf",)
    shots = 0
    grader_version = "1"
    hub_id = None  # released on GitHub (declare-lab/MELD), not on a hub
    hub_revision = None
    prompt_template = PROMPT
    required_fields = ("utterance", "candidate", "answer")

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is not None and Path(data_file).suffix == ".csv":
            queries = self.from_release(read_records(data_file), str(data_file))
            return queries[:limit] if limit is not None else queries
        return super().load(data_file, limit=limit)

    def from_release(self, rows: list[dict[str, Any]], source: str) -> list[Query]:
        """Items from the official CSV; history = earlier utterances of the same dialogue."""
        if rows:
            missing = [c for c in RELEASE_COLUMNS if c not in rows[0]]
            if missing:
                raise DatasetError(
                    f"{source}: the MELD CSV lacks column(s) {', '.join(missing)}; expected the "
                    f"release's test_sent_emo.csv"
                )
        dialogues: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for row in rows:
            dialogues.setdefault(str(row["Dialogue_ID"]), []).append((int(row["Utterance_ID"]), row))
        queries = []
        for dia in sorted(dialogues, key=int):
            history: list[str] = []
            for utt_id, row in sorted(dialogues[dia], key=lambda t: t[0]):
                emotion = str(row["Emotion"]).strip().lower()
                if emotion not in EMOTIONS:
                    raise DatasetError(
                        f"{source}: dialogue {dia} utterance {utt_id} has emotion {emotion!r}, "
                        f"not one of {EMOTIONS}"
                    )
                line = f"{row['Speaker']}: {row['Utterance']}"
                queries.append(Query(
                    dataset=self.name, id=f"dia{dia}_utt{utt_id}", text=line,
                    ground_truth="ABCDEFG"[EMOTIONS.index(emotion)],
                    metadata={"history": list(history), "options": list(EMOTIONS)},
                ))
                history.append(line)
        if not queries:
            raise DatasetError(f"{source}: no utterances found")
        return queries

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        candidate = record["candidate"]
        if not isinstance(candidate, Mapping) or not candidate:
            raise DatasetError(f"record {index}: candidate must be an object of letter → emotion")
        letters = sorted(candidate)
        answer = str(record["answer"]).strip().upper()
        if answer not in letters:
            raise DatasetError(f"record {index}: answer {answer!r} is not one of {letters}")
        return Query(
            dataset=self.name, id=str(record.get("id", index)), text=str(record["utterance"]),
            ground_truth=answer,
            metadata={"history": [str(h) for h in record.get("history") or []],
                      "options": [str(candidate[k]) for k in letters]},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {"question": query.text, "history": history_text(query.metadata["history"]),
                "options": format_choices(options), "letters": "ABCDEFGHIJ"[: len(options)]}

    def extract(self, output: str, query: Query) -> str | None:
        return extract_choice(output, len(query.metadata["options"]))

    def score(self, prediction: str, query: Query) -> float:
        return score_choice(prediction, query.ground_truth)
