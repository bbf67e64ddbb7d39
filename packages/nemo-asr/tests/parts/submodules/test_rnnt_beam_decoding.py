"""RNN-T beam search (``BeamRNNTInfer``, ``search_type='default'``) against real NeMo 1.23, and through RNNTDecoding."""

import string
from pathlib import Path

import pytest
import torch
from nemo.collections.asr.modules import RNNTDecoder, RNNTJoint
from nemo.collections.asr.parts.submodules.rnnt_beam_decoding import BeamRNNTInfer
from nemo.collections.asr.parts.submodules.rnnt_decoding import RNNTDecoding
from nemo.collections.asr.parts.submodules.rnnt_greedy_decoding import GreedyBatchedRNNTInfer
from nemo.collections.asr.parts.utils.rnnt_utils import Hypothesis, NBestHypotheses

FIXTURE = Path(__file__).resolve().parents[5] / "tests" / "data" / "nemo-1.23" / "rnnt_beam_tiny.pt"
REFERENCE = torch.load(FIXTURE, weights_only=True)
LETTERS = list(string.ascii_lowercase[: REFERENCE["blank_id"]])


def _reference_modules() -> tuple[RNNTDecoder, RNNTJoint]:
    """Our RNNTDecoder and RNNTJoint built from the fixture's configs, with NeMo's weights loaded strictly."""
    decoder = RNNTDecoder(**REFERENCE["decoder_config"])
    joint = RNNTJoint(**REFERENCE["joint_config"])
    decoder.load_state_dict(REFERENCE["decoder_state_dict"], strict=True)
    joint.load_state_dict(REFERENCE["joint_state_dict"], strict=True)
    return decoder.eval(), joint.eval()


@pytest.fixture(scope="module")
def modules() -> tuple[RNNTDecoder, RNNTJoint]:
    """The fixture's modules; tests must not change them."""
    return _reference_modules()


def _setting_id(result: dict) -> str:
    return f"beam{result['beam_size']}-norm{result['score_norm']}-temp{result['softmax_temperature']}"


@pytest.mark.parametrize("reference", REFERENCE["results"], ids=_setting_id)
def test_n_best_lists_match_nemo(modules, reference):
    decoder, joint = modules
    search = BeamRNNTInfer(
        decoder,
        joint,
        beam_size=reference["beam_size"],
        search_type="default",
        score_norm=reference["score_norm"],
        return_best_hypothesis=False,
        softmax_temperature=reference["softmax_temperature"],
    )

    (n_best_per_utterance,) = search(REFERENCE["encoder_output"], REFERENCE["encoded_lengths"])

    assert len(n_best_per_utterance) == len(reference["n_best"])
    for ours, theirs in zip(n_best_per_utterance, reference["n_best"]):
        assert isinstance(ours, NBestHypotheses)
        hypotheses = ours.n_best_hypotheses
        # NeMo's y_sequence starts with the blank start token, which ours leaves out.
        assert all(h["y_sequence"][0] == REFERENCE["blank_id"] for h in theirs)
        assert [h.y_sequence.tolist() for h in hypotheses] == [h["y_sequence"][1:] for h in theirs]
        assert [h.timestep for h in hypotheses] == [h["timestep"] for h in theirs]
        torch.testing.assert_close(
            torch.tensor([h.score for h in hypotheses], dtype=torch.float64),
            torch.tensor([h["score"] for h in theirs], dtype=torch.float64),
            rtol=0,
            atol=1e-4,
        )


def test_the_fixture_tells_the_beam_settings_apart():
    """The comparison above proves something only if the beam settings give different n-best lists."""
    outcomes = [
        str([[h["y_sequence"] for h in n_best] for n_best in result["n_best"]])
        for result in REFERENCE["results"]
        if result["beam_size"] > 1
    ]
    assert len(set(outcomes)) == len(outcomes)
    assert any(
        len(h["y_sequence"]) > 2 for result in REFERENCE["results"] for n in result["n_best"] for h in n
    )


def test_best_hypothesis_is_the_first_of_the_n_best(modules):
    decoder, joint = modules
    encoder_output, lengths = REFERENCE["encoder_output"], REFERENCE["encoded_lengths"]

    (best,) = BeamRNNTInfer(decoder, joint, beam_size=4)(encoder_output, lengths)
    (n_best,) = BeamRNNTInfer(decoder, joint, beam_size=4, return_best_hypothesis=False)(
        encoder_output, lengths
    )

    assert all(isinstance(hypothesis, Hypothesis) for hypothesis in best)
    assert [h.y_sequence.tolist() for h in best] == [
        n.n_best_hypotheses[0].y_sequence.tolist() for n in n_best
    ]
    assert [h.length for h in best] == lengths.tolist()


def test_beam_size_one_is_greedy_with_five_symbols_per_frame(modules):
    """With blank made unlikely every frame hits the cap; the batched greedy search capped at 5 must agree."""
    decoder, _ = modules
    joint = RNNTJoint(**REFERENCE["joint_config"])
    joint.load_state_dict(REFERENCE["joint_state_dict"])
    joint.eval()
    with torch.no_grad():
        joint.joint_net[-1].bias[REFERENCE["blank_id"]] -= 30.0
    encoder_output, lengths = REFERENCE["encoder_output"], REFERENCE["encoded_lengths"]

    (hypotheses,) = BeamRNNTInfer(decoder, joint, beam_size=1)(encoder_output, lengths)
    (greedy,) = GreedyBatchedRNNTInfer(
        decoder, joint, blank_index=REFERENCE["blank_id"], max_symbols_per_step=5
    )(encoder_output, lengths)

    for ours, expected, length in zip(hypotheses, greedy, lengths.tolist()):
        assert ours.timestep == [t for t in range(length) for _ in range(5)]
        assert ours.y_sequence.tolist() == expected.y_sequence.tolist()
        assert ours.score == pytest.approx(expected.score, abs=1e-4)


def test_empty_utterance_gives_an_empty_hypothesis(modules):
    decoder, joint = modules

    (hypotheses,) = BeamRNNTInfer(decoder, joint, beam_size=3)(
        REFERENCE["encoder_output"][:1], torch.tensor([0])
    )

    assert hypotheses[0].y_sequence.tolist() == [] and hypotheses[0].timestep == []
    assert hypotheses[0].score == 0.0


def test_search_runs_in_eval_mode_and_restores_training_mode():
    torch.manual_seed(0)
    config = dict(REFERENCE["decoder_config"])
    config["prednet"] = {**config["prednet"], "pred_rnn_layers": 2, "dropout": 0.5}
    decoder = RNNTDecoder(**config)
    joint = RNNTJoint(**REFERENCE["joint_config"])
    search = BeamRNNTInfer(decoder, joint, beam_size=2, return_best_hypothesis=False)
    encoder_output, lengths = REFERENCE["encoder_output"], REFERENCE["encoded_lengths"]
    decoder.eval()
    joint.eval()
    (in_eval,) = search(encoder_output, lengths)

    decoder.train()
    joint.train()
    (in_training,) = search(encoder_output, lengths)

    assert decoder.training and joint.training
    assert [[h.y_sequence.tolist() for h in n.n_best_hypotheses] for n in in_training] == [
        [h.y_sequence.tolist() for h in n.n_best_hypotheses] for n in in_eval
    ]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_cpu_results():
    decoder, joint = _reference_modules()
    encoder_output, lengths = REFERENCE["encoder_output"], REFERENCE["encoded_lengths"]
    (on_cpu,) = BeamRNNTInfer(decoder, joint, beam_size=4, return_best_hypothesis=False)(
        encoder_output, lengths
    )

    decoder.cuda()
    joint.cuda()
    (on_cuda,) = BeamRNNTInfer(decoder, joint, beam_size=4, return_best_hypothesis=False)(
        encoder_output.cuda(), lengths.cuda()
    )

    for cpu_n_best, cuda_n_best in zip(on_cpu, on_cuda):
        assert [h.y_sequence.tolist() for h in cuda_n_best.n_best_hypotheses] == [
            h.y_sequence.tolist() for h in cpu_n_best.n_best_hypotheses
        ]
        for cpu_hypothesis, cuda_hypothesis in zip(
            cpu_n_best.n_best_hypotheses, cuda_n_best.n_best_hypotheses
        ):
            assert cuda_hypothesis.score == pytest.approx(cpu_hypothesis.score, abs=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"search_type": "nsc"}, r"decoding\.beam\.search_type is 'nsc'"),
        ({"beam_size": 0}, r"decoding\.beam\.beam_size must be >= 1, got 0"),
        ({"search_type": "alsd", "preserve_alignments": True}, r"preserve_alignments.*Set it to false"),
        ({"ngram_lm_model": "lm.arpa"}, r"ngram_lm_model.*Set them to null"),
        ({"softmax_temperature": 0.0}, r"softmax_temperature must be > 0, got 0.0"),
    ],
)
def test_unsupported_settings_are_refused_with_the_config_key(modules, kwargs, message):
    decoder, joint = modules
    with pytest.raises(ValueError, match=message):
        BeamRNNTInfer(decoder, joint, **{"beam_size": 4, **kwargs})


def test_partial_hypotheses_are_refused(modules):
    decoder, joint = modules
    search = BeamRNNTInfer(decoder, joint, beam_size=2)
    with pytest.raises(ValueError, match="partial_hypotheses"):
        search(REFERENCE["encoder_output"], REFERENCE["encoded_lengths"], partial_hypotheses=[])


def _beam_decoding(modules, **beam) -> RNNTDecoding:
    decoder, joint = modules
    return RNNTDecoding({"strategy": "beam", "beam": beam}, decoder=decoder, joint=joint, vocabulary=LETTERS)


def test_rnnt_decoding_returns_nemo_n_best_lists(modules):
    decoding = _beam_decoding(modules, beam_size=4, return_best_hypothesis=False)
    encoder_output, lengths = REFERENCE["encoder_output"], REFERENCE["encoded_lengths"]
    reference = next(
        r
        for r in REFERENCE["results"]
        if (r["beam_size"], r["score_norm"], r["softmax_temperature"]) == (4, True, 1.0)
    )
    expected_texts = [
        ["".join(LETTERS[token] for token in h["y_sequence"][1:]) for h in n_best]
        for n_best in reference["n_best"]
    ]

    best, all_hypotheses = decoding.rnnt_decoder_predictions_tensor(
        encoder_output, lengths, return_hypotheses=True
    )
    best_texts, all_texts = decoding.rnnt_decoder_predictions_tensor(encoder_output, lengths)

    assert [[h.text for h in n_best] for n_best in all_hypotheses] == expected_texts
    assert all(isinstance(h, Hypothesis) for n_best in all_hypotheses for h in n_best)
    assert [h.text for h in best] == [texts[0] for texts in expected_texts]
    assert best_texts == [texts[0] for texts in expected_texts]
    assert all_texts == [text for texts in expected_texts for text in texts]


def test_rnnt_decoding_best_hypothesis_only(modules):
    decoding = _beam_decoding(modules, beam_size=2)
    best, all_hypotheses = decoding.rnnt_decoder_predictions_tensor(
        REFERENCE["encoder_output"], REFERENCE["encoded_lengths"], return_hypotheses=True
    )

    assert all_hypotheses is None
    assert [h.text for h in best] == [
        "".join(LETTERS[token] for token in h.y_sequence.tolist()) for h in best
    ]


def test_rnnt_decoding_refuses_other_search_types_and_strategies(modules):
    with pytest.raises(ValueError, match=r"decoding\.beam\.search_type is 'tsd'"):
        _beam_decoding(modules, beam_size=2, search_type="tsd")
    decoder, joint = modules
    with pytest.raises(ValueError, match=r"decoding\.strategy is 'nsc'"):
        RNNTDecoding({"strategy": "nsc"}, decoder=decoder, joint=joint, vocabulary=LETTERS)
