"""``QAProcessor``: read a SQuAD-format JSON file into ``QAExample`` objects.

The file looks like ``{"data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [{"id": ...,
"question": ..., "answers": [{"text": ..., "answer_start": ...}], "is_impossible": ...}]}]}]}``.
"""

from __future__ import annotations

import json
import os

from nemo.collections.nlp.data.question_answering.input_example.qa_input_example import QAExample
from nemo.utils import logging

__all__ = ["EVALUATION_MODE", "INFERENCE_MODE", "MODES", "QAProcessor", "TRAINING_MODE"]

TRAINING_MODE = "train"
EVALUATION_MODE = "eval"
INFERENCE_MODE = "infer"
MODES = (TRAINING_MODE, EVALUATION_MODE, INFERENCE_MODE)


class QAProcessor:
    """Examples of one SQuAD-format file.

    Args:
        data_file: the JSON file. A ``_cache`` in the path is removed before opening, as NeMo does.
        mode: ``"train"`` or ``"eval"`` load the first answer (``answer_text``, ``start_position_character``);
            ``"eval"`` also keeps every gold answer in ``answers``; ``"infer"`` loads no answers.

    Each distinct context gets an id; ``doc_id_to_context_text`` maps it back to the text.
    """

    def __init__(self, data_file: str | os.PathLike[str] | None, mode: str):
        if mode not in MODES:
            raise ValueError(f"mode is {mode!r}; use one of {', '.join(MODES)}.")
        self.data_file = data_file
        self.mode = mode
        self.doc_id = 0
        self.context_text_to_doc_id: dict[str, int] = {}
        self.doc_id_to_context_text: dict[int, str] = {}

    def _context_id(self, context_text: str) -> int:
        if context_text not in self.context_text_to_doc_id:
            self.context_text_to_doc_id[context_text] = self.doc_id
            self.doc_id_to_context_text[self.doc_id] = context_text
            self.doc_id += 1
        return self.context_text_to_doc_id[context_text]

    def _example(self, qa: dict, context_text: str, title: str) -> QAExample:
        # A question counts as unanswerable only when the file says so (or says nothing but gives no answers).
        is_impossible = "is_impossible" in qa and (bool(qa["is_impossible"]) or not qa.get("answers"))
        answer_text, answer_start, answers = None, None, []
        if not is_impossible and self.mode != INFERENCE_MODE:
            if not qa.get("answers"):
                raise ValueError(
                    f"Question {qa['id']!r} in {self.data_file} has no answers: give one, or set is_impossible."
                )
            answer_text = qa["answers"][0]["text"]
            answer_start = qa["answers"][0]["answer_start"]
            if self.mode == EVALUATION_MODE:
                answers = qa["answers"]
        return QAExample(
            qas_id=qa["id"],
            question_text=qa["question"],
            context_text=context_text,
            context_id=self._context_id(context_text),
            answer_text=answer_text,
            start_position_character=answer_start,
            title=title,
            answers=answers,
            is_impossible=is_impossible,
        )

    def get_examples(self) -> list[QAExample]:
        """All questions with a non-empty question text, in file order."""
        if self.data_file is None:
            raise ValueError(f"The {self.mode} data file is None: set the file path in the dataset config.")
        path = str(self.data_file).replace("_cache", "")
        with open(path, encoding="utf-8") as reader:
            articles = json.load(reader)["data"]
        examples: list[QAExample] = []
        for article in articles:
            for paragraph in article["paragraphs"]:
                context_text = paragraph["context"]
                for qa in paragraph["qas"]:
                    if qa["question"]:
                        examples.append(self._example(qa, context_text, article["title"]))
        logging.info(
            f"Read {len(examples)} questions on {len(self.doc_id_to_context_text)} contexts from {path}"
        )
        return examples
