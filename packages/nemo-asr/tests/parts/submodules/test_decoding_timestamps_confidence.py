"""Timestamps and confidence of CTC and RNN-T decoding, checked against numbers produced by NeMo 1.23.

The inputs are built without random numbers, so NeMo (run once in its own environment on the very same
inputs) and this package see identical log-probabilities; every expected value below was printed by NeMo 1.23.
NeMo 1.23's RNN-T timestamps need two local fixes to run at all (its ``rnnt_decoding.py`` lacks ``import copy``,
and its ``compute_confidence`` with ``exclude_blank: false`` indexes the timestamp dict like a list), so the
RNN-T cases with timestamps and ``exclude_blank: false`` were taken from NeMo without timestamps.
"""

import io
import math

import pytest
import torch
from nemo.collections.asr.modules import RNNTDecoder, RNNTJoint
from nemo.collections.asr.parts.submodules.ctc_decoding import CTCBPEDecoding, CTCDecoding
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecoding
from nemo.collections.common.tokenizers.sentencepiece_tokenizer import SentencePieceTokenizer

CHARS = [" ", "a", "b", "c", "d", "e", "f"]


def _peaky(paths: list[list[int]], vocab_size: int) -> torch.Tensor:
    """(B, T, V) log-probs: the path's label gets +4 over a smooth cosine background (no RNG)."""
    frames = max(len(path) for path in paths)
    logits = torch.zeros(len(paths), frames, vocab_size)
    for b, path in enumerate(paths):
        for t in range(frames):
            for v in range(vocab_size):
                logits[b, t, v] = math.cos(1.3 * t + 0.7 * v + b)
            logits[b, t, path[t] if t < len(path) else vocab_size - 1] += 4.0
    return logits.log_softmax(-1)


# "bad cafe" and "ace be" with repeats and blanks (7 = blank)
CHAR_PATHS = [[2, 2, 7, 1, 4, 4, 7, 0, 3, 7, 1, 1, 6, 5, 5, 7], [1, 7, 3, 5, 0, 0, 7, 2, 5, 7, 7]]


def _confidence(exclude_blank: bool, aggregation: str, method: dict) -> dict:
    return {
        "preserve_word_confidence": True,
        "exclude_blank": exclude_blank,
        "aggregation": aggregation,
        "method_cfg": method,
    }


def _char_decode(cfg: dict):
    decoding = CTCDecoding(cfg, CHARS)
    lengths = torch.tensor([len(path) for path in CHAR_PATHS])
    hypotheses, _ = decoding.ctc_decoder_predictions_tensor(
        _peaky(CHAR_PATHS, 8), lengths, return_hypotheses=True
    )
    return hypotheses


def test_ctc_char_offsets_and_confidence_match_nemo():
    cfg = {
        "strategy": "greedy",
        "compute_timestamps": True,
        "confidence_cfg": _confidence(True, "mean", {"name": "max_prob", "alpha": 0.5}),
    }
    first, second = _char_decode(cfg)
    assert first.text == "bad cafe"
    assert first.timestep["timestep"] == [0, 1, 3, 4, 5, 7, 8, 10, 11, 12, 13, 14]
    assert [(o["char"], o["start_offset"], o["end_offset"]) for o in first.timestep["char"]] == [
        ("b", 0, 0),
        ("a", 0, 3),
        ("d", 3, 4),
        (" ", 4, 7),
        ("c", 7, 8),
        ("a", 8, 10),
        ("f", 10, 12),
        ("e", 12, 13),
    ]
    assert first.timestep["word"] == [
        {"word": "bad", "start_offset": 0, "end_offset": 4},
        {"word": "cafe", "start_offset": 7, "end_offset": 13},
    ]
    # produced by NeMo 1.23
    assert first.token_confidence == pytest.approx(
        [0.837176, 0.861022, 0.805299, 0.719752, 0.958493, 0.857306, 0.932661, 0.804478], abs=1e-5
    )
    assert first.word_confidence == pytest.approx([0.834499, 0.888234], abs=1e-5)
    assert first.frame_confidence[:3] == pytest.approx([0.911724, 0.762628, 0.914920], abs=1e-5)
    assert first.score == pytest.approx(-2.6636834, abs=1e-5)
    assert second.text == "ace be"
    assert second.word_confidence == pytest.approx([0.879371, 0.8493], abs=1e-5)


def test_ctc_char_confidence_with_blanks_matches_nemo():
    cfg = {
        "strategy": "greedy",
        "compute_timestamps": True,
        "confidence_cfg": _confidence(
            False, "min", {"name": "entropy", "entropy_type": "renyi", "alpha": 0.25, "entropy_norm": "lin"}
        ),
    }
    first, second = _char_decode(cfg)
    # produced by NeMo 1.23
    assert first.token_confidence == pytest.approx(
        [0.120558, 0.175245, 0.11338, 0.101979, 0.136538, 0.130283, 0.254277, 0.109743], abs=1e-5
    )
    assert first.word_confidence == pytest.approx([0.11338, 0.109743], abs=1e-5)
    assert second.token_confidence == pytest.approx(
        [0.198778, 0.279928, 0.140708, 0.242171, 0.239718, 0.127137], abs=1e-5
    )


def test_ctc_offsets_after_leading_blanks_match_nemo():
    decoding = CTCDecoding({"strategy": "greedy", "compute_timestamps": True}, CHARS)
    (hypothesis,), _ = decoding.ctc_decoder_predictions_tensor(
        _peaky([[7, 7, 7, 2, 2, 7, 1, 0, 0, 5]], 8), torch.tensor([10]), return_hypotheses=True
    )
    # produced by NeMo 1.23: the first token starts one frame before its first frame
    assert hypothesis.text == "ba e"
    assert hypothesis.timestep["timestep"] == [3, 4, 6, 7, 8, 9]
    assert [(o["char"], o["start_offset"], o["end_offset"]) for o in hypothesis.timestep["char"]] == [
        ("b", 2, 3),
        ("a", 3, 6),
        (" ", 6, 7),
        ("e", 7, 9),
    ]
    assert hypothesis.timestep["word"] == [
        {"word": "ba", "start_offset": 2, "end_offset": 6},
        {"word": "e", "start_offset": 7, "end_offset": 9},
    ]


def test_ctc_timestamp_type_and_texts():
    hypotheses = _char_decode(
        {"strategy": "greedy", "compute_timestamps": True, "ctc_timestamp_type": "word"}
    )
    assert set(hypotheses[0].timestep) == {"timestep", "word"}
    assert hypotheses[0].token_confidence is None  # no confidence asked
    texts, _ = CTCDecoding({"compute_timestamps": True}, CHARS).ctc_decoder_predictions_tensor(
        _peaky(CHAR_PATHS, 8), torch.tensor([16, 11])
    )
    assert texts == ["bad cafe", "ace be"]


def test_frame_confidence_alone_turns_timestamps_on():
    # NeMo 1.23: confidence needs each token's frames, so asking for frame confidence computes timestamps
    (first, _) = _char_decode({"strategy": "greedy", "confidence_cfg": {"preserve_frame_confidence": True}})
    assert isinstance(first.timestep, dict)
    assert len(first.frame_confidence) == 16
    assert first.token_confidence is None


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> SentencePieceTokenizer:
    import sentencepiece as spm

    model = io.BytesIO()
    sentences = ["the cat sat on the mat", "the dog ate the hat", "a cat and a dog"] * 20
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=20,
        model_type="bpe",
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    path = tmp_path_factory.mktemp("spm") / "tokenizer.model"
    path.write_bytes(model.getvalue())
    tokenizer = SentencePieceTokenizer(model_path=str(path))
    # the pieces NeMo's run used
    assert tokenizer.ids_to_tokens(list(range(20))) == [
        "<unk>",
        "<s>",
        "</s>",
        "at",
        "he",
        "▁t",
        "▁the",
        "▁a",
        "▁",
        "t",
        "a",
        "e",
        "h",
        "d",
        "o",
        "c",
        "g",
        "n",
        "m",
        "s",
    ]
    return tokenizer


# "the cat sat" / "a dog ate the hat" as piece ids, each held 1-2 frames, blanks between (20 = blank)
BPE_PATHS = [
    [6, 20, 8, 8, 15, 3, 3, 20, 8, 19, 19, 3, 20, 20],
    [7, 20, 8, 8, 13, 14, 14, 20, 16, 8, 8, 3, 20, 11, 11, 6, 8, 8, 20, 12, 3, 3, 20],
]


def _bpe_decode(tokenizer, cfg: dict):
    decoding = CTCBPEDecoding(cfg, tokenizer)
    lengths = torch.tensor([len(path) for path in BPE_PATHS])
    hypotheses, _ = decoding.ctc_decoder_predictions_tensor(
        _peaky(BPE_PATHS, 21), lengths, return_hypotheses=True
    )
    return hypotheses


def test_ctc_subword_offsets_and_confidence_match_nemo(tokenizer):
    cfg = {
        "strategy": "greedy",
        "compute_timestamps": True,
        "confidence_cfg": _confidence(False, "mean", {"name": "max_prob", "alpha": 0.5}),
    }
    first, second = _bpe_decode(tokenizer, cfg)
    assert (first.text, second.text) == ("the cat sat", "a dog ate the hat")
    # produced by NeMo 1.23 (the bare "▁" pieces give empty "char" entries)
    assert [(o["char"], o["start_offset"], o["end_offset"]) for o in first.timestep["char"]] == [
        ("the", 0, 0),
        ("", 0, 2),
        ("c", 2, 4),
        ("at", 4, 5),
        ("", 5, 8),
        ("s", 8, 9),
        ("at", 9, 11),
    ]
    assert [(w["word"], w["start_offset"], w["end_offset"]) for w in second.timestep["word"]] == [
        ("a", 0, 0),
        ("dog", 0, 8),
        ("ate", 8, 13),
        ("the", 13, 15),
        ("hat", 15, 20),
    ]
    assert first.token_confidence == pytest.approx(
        [0.629762, 0.650831, 0.53764, 0.647373, 0.573531, 0.864835, 0.759521], abs=1e-5
    )
    assert first.word_confidence == pytest.approx([0.629762, 0.611948, 0.732629], abs=1e-5)
    assert second.word_confidence == pytest.approx(
        [0.765566, 0.655411, 0.847038, 0.907001, 0.699239], abs=1e-5
    )


def test_ctc_subword_product_aggregation_matches_nemo(tokenizer):
    cfg = {
        "strategy": "greedy",
        "compute_timestamps": True,
        "confidence_cfg": _confidence(True, "prod", {"name": "entropy"}),
    }
    _, second = _bpe_decode(tokenizer, cfg)
    # produced by NeMo 1.23 (tsallis entropy, alpha 0.33, exp norm: the defaults)
    assert second.word_confidence == pytest.approx([0.003965, 0.0, 0.0, 0.004284, 0.0], abs=1e-6)


# --- RNN-T ---------------------------------------------------------------------------------------------------
# A hand-built transducer: the prediction network remembers the last token (forget gate shut), and the joint reads
# from each encoder frame a table "logit of every class given the last token", so the emissions are designed.
VOCAB, BLANK, STATES = 6, 6, 7  # state 6: nothing emitted yet


def _designed_rnnt() -> tuple[RNNTDecoder, RNNTJoint]:
    decoder = RNNTDecoder(prednet={"pred_hidden": 16, "pred_rnn_layers": 1}, vocab_size=VOCAB).eval()
    units = STATES * STATES
    joint = RNNTJoint(
        jointnet={"encoder_hidden": units, "pred_hidden": 16, "joint_hidden": units, "activation": "relu"},
        num_classes=VOCAB,
    ).eval()
    gate = torch.sigmoid(torch.tensor(20.0)).item()
    h_on = math.tanh(gate * math.tanh(9.0)) * gate  # the LSTM output at the last token's dimension
    with torch.no_grad():
        for name, parameter in decoder.named_parameters():
            parameter.zero_()
            if "embed" in name:
                parameter[:VOCAB, :VOCAB] = 3.0 * torch.eye(VOCAB)
            elif "weight_ih" in name:
                parameter[32 : 32 + VOCAB, :VOCAB] = 3.0 * torch.eye(VOCAB)
            elif "bias_ih" in name:
                parameter[0:16], parameter[16:32], parameter[48:64] = 20.0, -20.0, 20.0
        joint.enc.weight.copy_(torch.eye(units))
        for module in (joint.enc, joint.pred, joint.joint_net[-1]):
            module.bias.zero_()
        joint.pred.weight.zero_()
        joint.joint_net[-1].weight.zero_()
        for state in range(STATES):
            for label in range(STATES):
                unit = state * STATES + label
                if state < VOCAB:
                    joint.pred.weight[unit, state] = 200.0
                    joint.pred.bias[unit] = -200.0 * h_on
                else:
                    joint.pred.weight[unit, :VOCAB] = -200.0
                joint.joint_net[-1].weight[label, unit] = 1.0
    return decoder, joint


def _designed_encoder_output(frame_tokens: list[list[list[int]]], strengths: list[float]) -> torch.Tensor:
    """(B, 49, T): per frame and last-token state, the designed next class wins with logit ``strength``."""
    frames = max(len(f) for f in frame_tokens)
    tables = torch.zeros(len(frame_tokens), frames, STATES, STATES)
    for b, utterance in enumerate(frame_tokens):
        state = STATES - 1
        for t in range(frames):
            strength = strengths[(b + t) % len(strengths)]
            tables[b, t, :, BLANK] = strength
            for token in utterance[t] if t < len(utterance) else []:
                tables[b, t, state, :] = 0.3 * torch.arange(STATES) / STATES
                tables[b, t, state, token] = strength
                state = token
            tables[b, t, state, :] = 0.2 * torch.arange(STATES) / STATES
            tables[b, t, state, BLANK] = strength
    return tables.reshape(len(frame_tokens), frames, STATES * STATES).transpose(1, 2)


# "bad ace" and "ed cab" frame by frame over [" ", a, b, c, d, e]
RNNT_FRAMES = [[[2], [], [1, 4], [], [0], [1], [3, 5], []], [[5, 4], [0], [], [3], [1, 2]]]
RNNT_LENGTHS = torch.tensor([8, 5])


@pytest.fixture(scope="module")
def rnnt_inputs():
    decoder, joint = _designed_rnnt()
    return decoder, joint, _designed_encoder_output(RNNT_FRAMES, [3.0, 5.0, 2.0, 4.0])


def _rnnt_decode(rnnt_inputs, cfg: dict):
    decoder, joint, encoder_output = rnnt_inputs
    decoding = RNNTDecoding(cfg, decoder, joint, CHARS[:6])
    hypotheses, _ = decoding.rnnt_decoder_predictions_tensor(
        encoder_output, RNNT_LENGTHS, return_hypotheses=True
    )
    return hypotheses


@pytest.mark.parametrize("strategy", ["greedy", "greedy_batch"])
def test_rnnt_offsets_and_confidence_match_nemo(rnnt_inputs, strategy):
    cfg = {
        "strategy": strategy,
        "compute_timestamps": True,
        "preserve_alignments": True,
        "confidence_cfg": _confidence(True, "mean", {"name": "max_prob", "alpha": 0.5}),
    }
    first, second = _rnnt_decode(rnnt_inputs, cfg)
    assert (first.text, second.text) == ("bad ace", "ed cab")
    # produced by NeMo 1.23
    assert first.timestep["timestep"] == [0, 2, 2, 4, 5, 6, 6]
    assert [(o["char"], o["start_offset"], o["end_offset"]) for o in first.timestep["char"]] == [
        (["b"], 0, 1),
        (["a", "d"], 2, 3),
        ([" "], 4, 5),
        (["a"], 5, 6),
        (["c", "e"], 6, 7),
    ]
    assert first.timestep["word"] == [
        {"word": "bad", "start_offset": 0, "end_offset": 3},
        {"word": "ace", "start_offset": 5, "end_offset": 7},
    ]
    assert second.timestep["word"] == [
        {"word": "ed", "start_offset": 0, "end_offset": 1},
        {"word": "cab", "start_offset": 3, "end_offset": 5},
    ]
    assert first.frame_confidence[0] == pytest.approx([0.77932, 0.790985], abs=1e-5)
    assert first.frame_confidence[2] == pytest.approx([0.546574, 0.552383, 0.56699], abs=1e-5)
    assert first.token_confidence == pytest.approx(
        [0.77932, 0.546574, 0.552383, 0.777026, 0.963652, 0.550353, 0.554513], abs=1e-5
    )
    assert first.word_confidence == pytest.approx([0.626093, 0.689506], abs=1e-5)
    assert second.word_confidence == pytest.approx([0.964508, 0.902694], abs=1e-5)
    assert first.score == pytest.approx(-3.260188, abs=1e-5)
    assert first.y_sequence.tolist() == [2, 1, 4, 0, 1, 3, 5]
    assert [[int(label) for _, label in frame] for frame in first.alignments[:3]] == [[2, 6], [6], [1, 4, 6]]


def test_rnnt_confidence_with_blanks_matches_nemo(rnnt_inputs):
    cfg = {
        "strategy": "greedy_batch",
        "confidence_cfg": _confidence(
            False, "prod", {"name": "entropy", "entropy_type": "gibbs", "alpha": 0.5, "entropy_norm": "lin"}
        ),
    }
    first, second = _rnnt_decode(rnnt_inputs, cfg)
    # produced by NeMo 1.23
    assert first.token_confidence == pytest.approx(
        [0.097867, 0.074958, 0.027315, 0.190054, 0.498874, 0.076327, 0.027522], abs=1e-5
    )
    assert first.word_confidence == pytest.approx([0.0002, 0.001048], abs=1e-5)
    assert second.token_confidence == pytest.approx(
        [0.50308, 0.502017, 0.026344, 0.193129, 0.498874, 0.499914], abs=1e-5
    )


def test_rnnt_confidence_with_blanks_and_timestamps(rnnt_inputs):
    # NeMo 1.23 crashes on this combination; the scores are those it gives without timestamps
    cfg = {
        "strategy": "greedy",
        "compute_timestamps": True,
        "preserve_alignments": True,
        "confidence_cfg": _confidence(False, "min", {"name": "entropy"}),
    }
    first, _ = _rnnt_decode(rnnt_inputs, cfg)
    assert isinstance(first.timestep, dict)
    assert first.token_confidence == pytest.approx(
        [0.031155, 0.009062, 0.009351, 0.030686, 0.157691, 0.009258, 0.009441], abs=1e-5
    )
    assert first.word_confidence == pytest.approx([0.009062, 0.009258], abs=1e-5)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"compute_timestamps": True}, "decoding.preserve_alignments"),
        (
            {"strategy": "beam", "confidence_cfg": {"preserve_token_confidence": True}},
            "decoding.confidence_cfg",
        ),
        (
            {"strategy": "tsd", "compute_timestamps": True, "preserve_alignments": True},
            "preserve_alignments",
        ),
        ({"rnnt_timestamp_type": "frame"}, "decoding.rnnt_timestamp_type"),
        ({"durations": [0, 1]}, "decoding.durations"),
        ({"strategy": "nsc"}, "decoding.strategy"),
    ],
)
def test_rnnt_refuses_what_it_cannot_do_by_name(rnnt_inputs, cfg, message):
    decoder, joint, _ = rnnt_inputs
    with pytest.raises(ValueError, match=message):
        RNNTDecoding(cfg, decoder, joint, CHARS[:6])


def test_transcribe_returns_timestamps_and_confidence_after_change_decoding_strategy():
    from pathlib import Path

    from nemo.collections.asr.models import EncDecCTCModel
    from omegaconf import OmegaConf

    fixtures = Path(__file__).resolve().parents[5] / "tests" / "data" / "nemo-1.23"
    model = EncDecCTCModel.restore_from(
        str(fixtures / "conformer_ctc_char_tiny.nemo"), map_location="cpu"
    ).eval()
    reference = torch.load(fixtures / "conformer_ctc_char_tiny.io.pt", weights_only=True)
    length = int(reference["input_signal_length"][0])
    decoding = OmegaConf.create(OmegaConf.to_container(model.cfg.decoding))
    decoding.compute_timestamps = True
    decoding.confidence_cfg = {"preserve_word_confidence": True}
    model.change_decoding_strategy(decoding)

    (hypothesis,) = model.transcribe([reference["input_signal"][0, :length].numpy()], return_hypotheses=True)
    assert set(hypothesis.timestep) == {"timestep", "char", "word"}
    assert len(hypothesis.timestep["word"]) == len(hypothesis.text.split()) == len(hypothesis.word_confidence)
    assert len(hypothesis.token_confidence) == len(hypothesis.timestep["char"])
    assert all(0.0 <= score <= 1.0 for score in hypothesis.token_confidence)
