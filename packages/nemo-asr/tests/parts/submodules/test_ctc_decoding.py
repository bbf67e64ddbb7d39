import itertools
import re
import tarfile
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.parts.submodules.ctc_decoding import (
    CTCBPEDecoding,
    CTCDecoding,
    CTCDecodingConfig,
    ctc_prefix_beam_search,
)
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses
from omegaconf import OmegaConf

VOCAB = [" ", "a", "b", "c", "'"]
BLANK = len(VOCAB)


def frames_to_log_probs(label_rows: list[list[int]], vocab_size: int = BLANK + 1) -> torch.Tensor:
    """(B, T, V) log-probabilities whose best label per frame is the given one (ties impossible)."""
    logits = torch.randn(
        len(label_rows), len(label_rows[0]), vocab_size, generator=torch.Generator().manual_seed(0)
    )
    logits.scatter_(2, torch.tensor(label_rows)[..., None], 20.0)
    return logits.log_softmax(-1)


def reference_ctc_text(labels: list[int], fold: bool = True) -> str:
    """CTC's rule written out frame by frame: merge repeats (if fold), then drop blanks."""
    out, previous = [], None
    for label in labels:
        if label != BLANK and (not fold or label != previous):
            out.append(VOCAB[label])
        previous = label
    return "".join(out)


ROWS = [
    [1, 1, BLANK, 1, 0, 2, 2, 2, 3, BLANK],
    [BLANK, 3, 3, 0, 0, 4, BLANK, 4, 1, 2],
]
LENGTHS = [10, 8]


@pytest.mark.parametrize("strategy", ["greedy", "greedy_batch"])
def test_greedy_folds_repeats_drops_blanks_and_respects_lengths(strategy):
    decoding = CTCDecoding({"strategy": strategy}, vocabulary=VOCAB)
    texts, extra = decoding.ctc_decoder_predictions_tensor(frames_to_log_probs(ROWS), torch.tensor(LENGTHS))
    assert texts == [reference_ctc_text(r[:n]) for r, n in zip(ROWS, LENGTHS)]
    assert extra is None


def test_without_folding_repeats_are_kept():
    decoding = CTCDecoding(CTCDecodingConfig(), vocabulary=VOCAB)
    texts, _ = decoding.ctc_decoder_predictions_tensor(frames_to_log_probs(ROWS), fold_consecutive=False)
    assert texts == [reference_ctc_text(r, fold=False) for r in ROWS]


def test_label_input_and_batch_dim_index():
    decoding = CTCDecoding({"batch_dim_index": 1}, vocabulary=VOCAB)
    time_major = torch.tensor(ROWS).T.contiguous()
    texts, _ = decoding.ctc_decoder_predictions_tensor(time_major, torch.tensor(LENGTHS))
    assert texts == [reference_ctc_text(r[:n]) for r, n in zip(ROWS, LENGTHS)]


def test_hypotheses_carry_scores_lengths_and_alignments():
    log_probs = frames_to_log_probs(ROWS)
    decoding = CTCDecoding({"greedy": {"preserve_alignments": True}}, vocabulary=VOCAB)
    hypotheses, _ = decoding.ctc_decoder_predictions_tensor(
        log_probs, torch.tensor(LENGTHS), return_hypotheses=True
    )
    for hypothesis, row, length, lp in zip(hypotheses, ROWS, LENGTHS, log_probs):
        assert isinstance(hypothesis, Hypothesis)
        assert hypothesis.text == reference_ctc_text(row[:length])
        assert hypothesis.y_sequence.tolist() == row[:length]
        expected = sum(float(lp[t, label]) for t, label in enumerate(row[:length]) if label != BLANK)
        assert hypothesis.score == pytest.approx(expected, abs=1e-5)
        assert hypothesis.alignments[0].shape == (length, BLANK + 1)
        assert hypothesis.alignments[1].tolist() == row[:length]


def test_space_before_punctuation_is_collapsed():
    decoding = CTCDecoding({}, vocabulary=[" ", "a", "."])
    texts, _ = decoding.ctc_decoder_predictions_tensor(torch.tensor([[1, 0, 2, 3, 0, 1]]))
    assert texts == ["a. a"]


def test_beam_strategy_returns_best_and_n_best():
    log_probs = torch.randn(2, 6, BLANK + 1, generator=torch.Generator().manual_seed(3)).log_softmax(-1)
    lengths = torch.tensor([6, 4])
    cfg = {"strategy": "beam", "beam": {"beam_size": 3, "return_best_hypothesis": False}}
    decoding = CTCDecoding(cfg, vocabulary=VOCAB)
    best, every = decoding.ctc_decoder_predictions_tensor(log_probs, lengths)
    assert len(every) == 6
    for row, (length, text) in enumerate(zip(lengths.tolist(), best)):
        beams = ctc_prefix_beam_search(log_probs[row, :length], BLANK, 3)
        assert text == "".join(VOCAB[t] for t in beams[0][0])
        assert every[3 * row : 3 * row + 3] == ["".join(VOCAB[t] for t in tokens) for tokens, _ in beams]
    best_h, all_h = decoding.ctc_decoder_predictions_tensor(log_probs, lengths, return_hypotheses=True)
    assert [h.text for h in best_h] == best
    assert all(len(n) == 3 and n[0] is h for n, h in zip(all_h, best_h))
    assert isinstance(decoding.decoding(log_probs, lengths)[0][0], NBestHypotheses)


def test_bpe_decoding_detokenizes_with_the_tokenizer(tmp_path):
    from nemo.collections.common.tokenizers import SentencePieceTokenizer, create_spt_model

    text_file = tmp_path / "text.txt"
    text_file.write_text(
        "\n".join(["hello world", "world of speech", "hello speech"] * 50) + "\n", encoding="utf-8"
    )
    tokenizer = SentencePieceTokenizer(
        create_spt_model(str(text_file), 30, -1, False, output_dir=str(tmp_path / "spt"))[0]
    )
    decoding = CTCBPEDecoding({"strategy": "greedy"}, tokenizer=tokenizer)
    assert decoding.blank_id == tokenizer.vocab_size
    ids = tokenizer.text_to_ids("hello speech")
    frames = [i for token in ids for i in (token, token, decoding.blank_id)]
    texts, _ = decoding.ctc_decoder_predictions_tensor(torch.tensor([frames]))
    assert texts == ["hello speech"]
    assert decoding.decode_ids_to_tokens(ids + [decoding.blank_id]) == tokenizer.ids_to_tokens(ids)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"strategy": "wfst"}, "decoding.strategy is 'wfst'"),
        ({"strategy": "beam", "beam": {"search_type": "nemo"}}, "decoding.beam.search_type is 'nemo'"),
        ({"strategy": "flashlight"}, "needs both decoding.beam.flashlight_cfg.lexicon_path (got None)"),
        (
            {"strategy": "beam", "beam": {"search_type": "flashlight", "kenlm_path": "lm.arpa"}},
            "needs both decoding.beam.flashlight_cfg.lexicon_path (got None) and decoding.beam.kenlm_path (got 'lm.arpa')",
        ),
        (
            {"strategy": "flashlight", "beam": {"flashlight_cfg": {"boost_path": "boost.txt"}}},
            "decoding.beam.flashlight_cfg.boost_path='boost.txt': word boosting is not supported",
        ),
        (
            {"strategy": "flashlight", "beam": {"flashlight_cfg": {"lexicon": "x.lex"}}},
            "decoding.beam.flashlight_cfg has unknown keys ['lexicon']",
        ),
        ({"strategy": "beam", "preserve_alignments": True}, "decoding.beam.preserve_alignments"),
        ({"strategy": "beam", "compute_timestamps": True}, "decoding.beam.compute_timestamps"),
        (
            {"strategy": "beam", "confidence_cfg": {"preserve_frame_confidence": True}},
            "decoding.confidence_cfg",
        ),
        ({"ctc_timestamp_type": "frame"}, "decoding.ctc_timestamp_type"),
        ({"strategy": "beam", "beam": {"beam_size": 0}}, "beam_size must be >= 1, got 0"),
    ],
)
def test_config_errors_name_the_key(cfg, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        CTCDecoding(cfg, vocabulary=VOCAB)


def test_beam_search_refuses_labels():
    decoding = CTCDecoding({"strategy": "beam"}, vocabulary=VOCAB)
    with pytest.raises(ValueError, match=r"needs \(B, T, V\) log-probabilities"):
        decoding.ctc_decoder_predictions_tensor(torch.tensor(ROWS))


FIXTURES = Path(__file__).resolve().parents[5] / "tests" / "data" / "nemo-1.23"


def test_nemo_archive_decoding_config_decodes_the_reference_log_probs():
    with tarfile.open(FIXTURES / "conformer_ctc_char_tiny.nemo") as archive:
        config = OmegaConf.create(archive.extractfile("./model_config.yaml").read().decode("utf-8"))
    reference = torch.load(FIXTURES / "conformer_ctc_char_tiny.io.pt", weights_only=True)
    decoding = CTCDecoding(config.decoding, vocabulary=list(config.labels))
    assert decoding.blank_id == len(config.labels) == reference["log_probs"].shape[-1] - 1
    texts, _ = decoding.ctc_decoder_predictions_tensor(reference["log_probs"], reference["encoded_len"])
    for text, log_probs, length in zip(texts, reference["log_probs"], reference["encoded_len"]):
        labels = log_probs[:length].argmax(-1).tolist()
        collapsed = [label for label, _ in itertools.groupby(labels) if label != decoding.blank_id]
        assert text == "".join(config.labels[label] for label in collapsed)
