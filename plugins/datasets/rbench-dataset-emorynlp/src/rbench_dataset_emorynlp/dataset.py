"""EmoryNLP (Zahiri & Choi, 2018): the emotion of an utterance from *Friends*, in context,
asked as a 7-way multiple-choice question (Joyful, Mad, Neutral, Peaceful, Powerful, Sad, Scared).

Two source formats are accepted:

* the multiple-choice records LLMRouterBench evaluates (its ``test.json``, one record a line):
  ``history`` (earlier
  utterances), ``utterance``, ``candidate`` (``{"A": "Joyful", ...}``) and ``answer`` (a letter);
* the official release ``emotion-detection-tst.json`` (``episodes`` → ``scenes`` →
  ``utterances`` with ``speakers``, ``transcript``, ``emotion``): every utterance becomes an
  item whose history is the earlier utterances of its scene, with the seven labels as options
  in a fixed order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_emorynlp.plugin import CAPABILITIES
from routerbench_core import DatasetError, DialogueEmotionDataset, Query

EMOTIONS = ("Joyful", "Mad", "Neutral", "Peaceful", "Powerful", "Sad", "Scared")


class EmoryNLP(DialogueEmotionDataset, capabilities=CAPABILITIES):
    """EmoryNLP emotion detection, test split, as multiple choice."""

    name = "emorynlp"
    #: 2: the seed's prompt; ambiguous/prose letters are no answer
    grader_version = "2"
    hub_id = None  # released on GitHub (emorynlp/emotion-detection), not on a hub
    hub_revision = None
    emotions = EMOTIONS

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is not None and Path(data_file).suffix == ".json":
            try:
                raw = json.loads(Path(data_file).read_text(encoding="utf-8"))
            except OSError as exc:
                raise DatasetError(f"cannot read {data_file}: {exc}") from exc
            except json.JSONDecodeError:
                raw = None  # the seed's test.json: one record a line, read below
            if isinstance(raw, dict) and "episodes" in raw:
                queries = self.from_release(raw, str(data_file))
                return queries[:limit] if limit is not None else queries
        return super().load(data_file, limit=limit)

    def from_release(self, raw: Mapping[str, Any], source: str) -> list[Query]:
        """Items from the official nested release (every utterance of every scene)."""
        queries = []
        for episode in raw["episodes"]:
            for scene in episode.get("scenes", []):
                history: list[str] = []
                for utt in scene.get("utterances", []):
                    try:
                        speaker = ", ".join(utt.get("speakers") or ["Someone"])
                        line = f"{speaker}: {utt['transcript']}"
                        emotion = utt["emotion"]
                        uid = utt["utterance_id"]
                    except KeyError as exc:
                        raise DatasetError(
                            f"{source}: an utterance of scene {scene.get('scene_id')} lacks {exc}"
                        ) from None
                    queries.append(self.release_item(
                        str(uid), line, emotion, history, where=f"{source}: utterance {uid}"
                    ))
                    history.append(line)
        if not queries:
            raise DatasetError(f"{source}: no utterances found")
        return queries
