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

from pathlib import Path
from typing import Any

from rbench_dataset_meld.plugin import CAPABILITIES
from routerbench_core import DatasetError, DialogueEmotionDataset, Query, read_records

EMOTIONS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")

RELEASE_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")


class MELD(DialogueEmotionDataset, capabilities=CAPABILITIES):
    """MELD emotion recognition, test split, as multiple choice."""

    name = "meld"
    #: 2: the seed's prompt; ambiguous/prose letters are no answer
    grader_version = "2"
    hub_id = None  # released on GitHub (declare-lab/MELD), not on a hub
    hub_revision = None
    emotions = EMOTIONS

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
                line = f"{row['Speaker']}: {row['Utterance']}"
                queries.append(self.release_item(
                    f"dia{dia}_utt{utt_id}", line, emotion, history,
                    where=f"{source}: dialogue {dia} utterance {utt_id}",
                ))
                history.append(line)
        if not queries:
            raise DatasetError(f"{source}: no utterances found")
        return queries
