"""Character and word offsets (in encoder frames) of decoded CTC and RNN-T hypotheses, as NeMo 1.23 reports them.

Offsets are dicts ``{"char": ..., "start_offset": int, "end_offset": int}`` per token and
``{"word": str, "start_offset": int, "end_offset": int}`` per word; decoding stores them in
``Hypothesis.timestep`` as ``{"timestep": [...], "char": [...], "word": [...]}``.

NeMo's conventions are kept exactly, since users compare offsets across versions:

- CTC: token ``i`` (after folding repeats) ends at the first frame of its run and starts where token ``i - 1``
  ended; the first token starts one frame before its first frame (not before 0).
- RNN-T: every frame that emitted tokens gives one entry whose ``char`` lists the frame's tokens; it spans
  ``[t, t + 1)``, except the first frame, which starts one frame before the first token's frame.
- Words of character models are runs of characters between separators; words of sentencepiece models start
  at each piece whose text differs from its piece (the ``▁`` word mark).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

__all__ = [
    "ctc_token_offsets",
    "rnnt_frame_offsets",
    "word_offsets_from_chars",
    "word_offsets_from_ctc_subwords",
    "word_offsets_from_rnnt_subwords",
]

Offset = dict[str, Any]


def _first_start(timestep: Sequence[int]) -> int:
    return max(0, int(timestep[0]) - 1) if len(timestep) else 0


def ctc_token_offsets(
    tokens: Sequence[int], token_lengths: Sequence[int], timestep: Sequence[int]
) -> list[Offset]:
    """Offsets of folded CTC tokens.

    Args:
        tokens: the folded token ids.
        token_lengths: for each token, frames between the start of the previous token's run and its own (the
            first: its first frame); their running sum is each token's first frame.
        timestep: frames that emitted a non-blank label (decides the first token's start).

    Returns:
        One ``{"char": token id, "start_offset", "end_offset"}`` per token.
    """
    ends = list(accumulate(int(length) for length in token_lengths))
    starts = [_first_start(timestep), *ends[:-1]]
    return [{"char": token, "start_offset": s, "end_offset": e} for token, s, e in zip(tokens, starts, ends)]


def rnnt_frame_offsets(
    frame_labels: Sequence[Sequence[int]], timestep: Sequence[int], blank_id: int
) -> list[Offset]:
    """Offsets of the RNN-T frames that emitted tokens.

    Args:
        frame_labels: for each frame, the labels it emitted, closing blank included.
        timestep: frame of each emitted token.
        blank_id: the blank label; frames whose first label is blank emitted nothing and are dropped.

    Returns:
        One ``{"char": [labels of the frame], "start_offset", "end_offset"}`` per frame with tokens.
    """
    first = _first_start(timestep)
    offsets = []
    for frame, labels in enumerate(frame_labels):
        if labels and int(labels[0]) != blank_id:
            start = first if frame == 0 else frame
            offsets.append(
                {"char": [int(label) for label in labels], "start_offset": start, "end_offset": frame + 1}
            )
    return offsets


def word_offsets_from_chars(offsets: list[Offset], separator: str = " ") -> list[Offset]:
    """Words of a character model: maximal runs of non-separator characters.

    ``offsets[i]["char"]`` is one character (CTC) or a list of characters emitted together (RNN-T); a word
    starts at the start of its first character's entry and ends at the end of its last one's.
    """
    words: list[Offset] = []
    current: Offset | None = None
    for offset in offsets:
        chars = offset["char"] if isinstance(offset["char"], list) else [offset["char"]]
        for char in chars:
            if char == separator:
                if current is not None:
                    words.append(current)
                current = None
            elif current is None:
                current = {
                    "word": char,
                    "start_offset": offset["start_offset"],
                    "end_offset": offset["end_offset"],
                }
            else:
                current["word"] += char
                current["end_offset"] = offset["end_offset"]
    if current is not None:
        words.append(current)
    return words


def _starts_word(
    token_id: int, to_pieces: Callable[[list[int]], list[str]], to_text: Callable[[list[int]], str]
) -> bool:
    """A sentencepiece piece opens a word when its text differs from the piece (it carries the ``▁`` mark)."""
    return to_pieces([token_id])[0] != to_text([token_id])


def word_offsets_from_ctc_subwords(
    offsets: list[Offset],
    tokens: Sequence[int],
    decode_ids_to_tokens: Callable[[list[int]], list[str]],
    decode_tokens_to_str: Callable[[list[int]], str],
) -> list[Offset]:
    """Words of a sentencepiece CTC model from its token offsets (``tokens[i]`` at ``offsets[i]``).

    A word ends where the next word's first piece starts; the first word starts with the first token and the
    last one ends with the last token.
    """
    words: list[Offset] = []
    pieces: list[int] = []
    word_start = 0
    for index, token in enumerate(tokens):
        if _starts_word(token, decode_ids_to_tokens, decode_tokens_to_str) and pieces:
            words.append(
                {
                    "word": decode_tokens_to_str(pieces),
                    "start_offset": offsets[word_start]["start_offset"],
                    "end_offset": offsets[index]["start_offset"],
                }
            )
            pieces = []
        if not pieces:
            word_start = index
        pieces.append(token)
    if not words:
        if pieces:
            words.append(
                {
                    "word": decode_tokens_to_str(pieces),
                    "start_offset": offsets[0]["start_offset"],
                    "end_offset": offsets[-1]["end_offset"],
                }
            )
        return words
    words[0]["start_offset"] = offsets[0]["start_offset"]
    if pieces:
        words.append(
            {
                "word": decode_tokens_to_str(pieces),
                "start_offset": offsets[-len(pieces)]["start_offset"],
                "end_offset": offsets[-1]["end_offset"],
            }
        )
    return words


def word_offsets_from_rnnt_subwords(
    offsets: list[Offset],
    decode_ids_to_tokens: Callable[[list[int]], list[str]],
    decode_tokens_to_str: Callable[[list[int]], str],
) -> list[Offset]:
    """Words of a sentencepiece RNN-T model from its frame offsets (``char``: the frame's label ids, blank last).

    A word spans from the start of the frame of its first piece to the start of the frame that opens the next
    word; the last word ends with the last frame.
    """
    words: list[Offset] = []
    pieces: list[int] = []
    word_frame = 0
    for index, offset in enumerate(offsets):
        for token in offset["char"][:-1]:
            token = int(token)
            if _starts_word(token, decode_ids_to_tokens, decode_tokens_to_str):
                if pieces:
                    words.append(
                        {
                            "word": decode_tokens_to_str(pieces),
                            "start_offset": offsets[word_frame]["start_offset"],
                            "end_offset": offset["start_offset"],
                        }
                    )
                pieces = [token]
                word_frame = index
            else:
                pieces.append(token)
    if offsets and words:
        words[0]["start_offset"] = offsets[0]["start_offset"]
    if pieces:
        words.append(
            {
                "word": decode_tokens_to_str(pieces),
                "start_offset": offsets[word_frame]["start_offset"],
                "end_offset": offsets[-1]["end_offset"],
            }
        )
    return words
