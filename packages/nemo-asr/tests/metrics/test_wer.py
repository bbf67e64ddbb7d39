import logging as std_logging

import pytest
import torch
from nemo.collections.asr.metrics.wer import WER, word_error_rate, word_error_rate_per_utt
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCDecoding

VOCAB = [" ", "a", "b", "c", "d", "e", "t", "h", "o"]
BLANK = len(VOCAB)


def levenshtein(a: list, b: list) -> int:
    """Textbook dynamic programme, the independent check for torchmetrics' distances."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


PAIRS = [
    ("the cat sat on the mat", "the cat sat on a mat"),
    ("a b c", "a x c d e"),
    ("", "one two"),
    ("extra words here", ""),
    ("same same", "same same"),
]


@pytest.mark.parametrize("use_cer", [False, True])
def test_word_error_rate_matches_a_textbook_edit_distance(use_cer):
    hyps, refs = zip(*PAIRS)
    split = list if use_cer else str.split
    errors = sum(levenshtein(split(h), split(r)) for h, r in PAIRS)
    words = sum(len(split(r)) for r in refs)
    assert word_error_rate(list(hyps), list(refs), use_cer=use_cer) == pytest.approx(errors / words)
    per_utt, corpus = word_error_rate_per_utt(list(hyps), list(refs), use_cer=use_cer)
    assert corpus == pytest.approx(errors / words)
    expected = [
        levenshtein(split(h), split(r)) / len(split(r)) if split(r) else float("inf") for h, r in PAIRS
    ]
    assert per_utt == pytest.approx(expected)


def test_word_error_rate_edge_cases():
    assert word_error_rate(["anything"], [""]) == float("inf")
    assert word_error_rate([], []) == float("inf")
    with pytest.raises(ValueError, match="got 2 hypotheses and 1 references"):
        word_error_rate(["a", "b"], ["a"])


def text_to_ids(text: str) -> list[int]:
    return [VOCAB.index(ch) for ch in text]


def greedy_log_probs(texts: list[str], frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T, V) log-probs whose best path spells each text (a blank after every char), plus lengths."""
    rows, lengths = [], []
    for text in texts:
        labels = [i for ch in text for i in (VOCAB.index(ch), BLANK)]
        lengths.append(len(labels))
        rows.append(labels + [1] * (frames - len(labels)))
    logits = torch.full((len(texts), frames, BLANK + 1), -5.0)
    logits.scatter_(2, torch.tensor(rows)[..., None], 5.0)
    return logits.log_softmax(-1), torch.tensor(lengths)


def padded_targets(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    ids = [text_to_ids(t) for t in texts]
    width = max(len(i) for i in ids)
    return torch.tensor([i + [0] * (width - len(i)) for i in ids]), torch.tensor([len(i) for i in ids])


HYPS = ["the cat", "a bed", "to do"]
REFS = ["the hat", "a bed", "do to too"]


@pytest.mark.parametrize("use_cer", [False, True])
def test_wer_metric_with_real_ctc_decoding(use_cer):
    decoding = CTCDecoding({"strategy": "greedy_batch"}, vocabulary=VOCAB)
    metric = WER(decoding, use_cer=use_cer, log_prediction=False)
    log_probs, lengths = greedy_log_probs(HYPS, frames=24)
    targets, target_lengths = padded_targets(REFS)
    metric.update(log_probs, lengths, targets, target_lengths)
    wer, scores, words = metric.compute()
    split = list if use_cer else str.split
    expected_errors = sum(levenshtein(split(h), split(r)) for h, r in zip(HYPS, REFS))
    expected_words = sum(len(split(r)) for r in REFS)
    assert (scores.item(), words.item()) == (expected_errors, expected_words)
    assert wer.item() == pytest.approx(expected_errors / expected_words)


def test_wer_metric_accumulates_until_reset_and_logs(caplog):
    decoding = CTCDecoding({}, vocabulary=VOCAB)
    metric = WER(decoding, batch_dim_index=1)
    log_probs, lengths = greedy_log_probs(HYPS, frames=24)
    targets, target_lengths = padded_targets(REFS)
    nemo_logger = std_logging.getLogger("nemo")
    nemo_logger.addHandler(caplog.handler)
    try:
        metric.update(log_probs, lengths, targets.T, target_lengths)
    finally:
        nemo_logger.removeHandler(caplog.handler)
    assert "reference:the hat" in caplog.text and "predicted:the cat" in caplog.text
    metric.update(log_probs[:1], lengths[:1], targets[:1].T, target_lengths[:1])
    _, scores, words = metric.compute()
    batch_errors = sum(levenshtein(h.split(), r.split()) for h, r in zip(HYPS, REFS))
    first_errors = levenshtein(HYPS[0].split(), REFS[0].split())
    assert scores.item() == batch_errors + first_errors
    assert words.item() == sum(len(r.split()) for r in REFS) + len(REFS[0].split())
    metric.reset()
    metric.update(log_probs[1:2], lengths[1:2], targets[1:2].T, target_lengths[1:2])
    assert metric.compute()[1].item() == 0


def test_wer_refuses_an_object_that_cannot_decode():
    with pytest.raises(TypeError, match="decoding of type list"):
        WER(decoding=[])


def test_error_rates_are_exact_for_very_different_lengths(reference_edit_distance):
    # A banded search (torchmetrics' edit_distance) gives 75 edits for this pair; the exact distance is 74.
    reference = "welcome to comedian mail first i will guide you through a short setup process"
    pairs = [(reference, "fuckin"), ("press the pound key", "press pound key now please"), ("a b", "")]
    hypotheses, references = [h for _, h in pairs], [r for r, _ in pairs]
    chars = sum(reference_edit_distance(list(r), list(h)) for r, h in pairs) / sum(len(r) for r, _ in pairs)
    words = sum(reference_edit_distance(r.split(), h.split()) for r, h in pairs) / sum(
        len(r.split()) for r, _ in pairs
    )
    assert reference_edit_distance(list(reference), list("fuckin")) == 74
    assert word_error_rate(hypotheses, references, use_cer=True) == pytest.approx(chars)
    assert word_error_rate(hypotheses, references) == pytest.approx(words)
