"""NeMo 1.23's TitaNet archive restores here and reproduces what NeMo computed: features, logits, embeddings,
``get_embedding``, ``verify_speakers`` and ``get_label`` on real voices; our own archive restores the same."""

from pathlib import Path

import pytest
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecSpeakerLabelModel
from nemo.collections.asr.models.label_models import speaker_similarity
from omegaconf import open_dict

DATA = Path(__file__).resolve().parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[4]

ATOL = 1e-4


def _close(found: torch.Tensor, expected: torch.Tensor, name: str, atol: float = ATOL) -> None:
    assert found.shape == expected.shape, f"{name}: shape {tuple(found.shape)} != {tuple(expected.shape)}"
    diff = (found.float() - expected.float()).abs().max().item()
    assert diff <= atol, f"{name}: max abs diff {diff} > {atol}"


@pytest.fixture(scope="module")
def titanet(titanet_path) -> EncDecSpeakerLabelModel:
    return EncDecSpeakerLabelModel.restore_from(str(titanet_path), map_location="cpu").eval()


def test_restores_nemo_modules_and_angular_decoder(titanet):
    assert type(titanet.encoder).__name__ == "ConvASREncoder"
    assert type(titanet.decoder).__name__ == "SpeakerDecoder"
    assert type(titanet.loss).__name__ == "AngularSoftmaxLoss"
    assert titanet.decoder.angular and titanet.decoder.final.bias is None
    assert "angular" not in titanet.cfg.decoder, "NeMo does not write decoder.angular into the config"


def test_features_match_nemo(titanet, fixture_io):
    with torch.inference_mode():
        features, features_len = titanet.preprocessor(
            input_signal=fixture_io["input_signal"], length=fixture_io["input_signal_length"]
        )
    _close(features, fixture_io["features"], "features")
    assert torch.equal(features_len.long(), fixture_io["features_len"].long())


def test_logits_and_embeddings_match_nemo(titanet, fixture_io):
    with torch.inference_mode():
        logits, embs = titanet(
            input_signal=fixture_io["input_signal"], input_signal_length=fixture_io["input_signal_length"]
        )
    _close(logits, fixture_io["logits"], "logits")
    _close(embs, fixture_io["embs"], "embs")


def test_save_and_restore_again_gives_the_same_outputs(titanet, fixture_io, tmp_path):
    path = tmp_path / "again.nemo"
    titanet.save_to(str(path))
    again = EncDecSpeakerLabelModel.restore_from(str(path), map_location="cpu").eval()

    assert set(again.state_dict()) == set(titanet.state_dict())
    with torch.inference_mode():
        logits, embs = again(
            input_signal=fixture_io["input_signal"], input_signal_length=fixture_io["input_signal_length"]
        )
    _close(logits, fixture_io["logits"], "logits after save/restore")
    _close(embs, fixture_io["embs"], "embs after save/restore")


def test_get_embedding_of_real_voices_matches_nemo(titanet, expected):
    for index, name in enumerate(expected["files"]):
        emb = titanet.get_embedding(str(REPO_ROOT / name))
        _close(emb, expected[f"emb/{index}"], f"get_embedding({name})")
        _, logits = titanet.infer_file(str(REPO_ROOT / name))
        _close(logits, expected[f"logits/{index}"], f"infer_file({name}) logits")


def test_get_embedding_reads_files_at_the_training_rate(titanet, expected):
    path = DATA / "activated_8k.wav"
    samples, rate = sf.read(path, dtype="float32")
    assert rate == 8000

    emb = titanet.get_embedding(str(path))

    # NeMo resamples with librosa (soxr), ours with torchaudio's sinc filter: nearly the same embedding.
    assert (emb - expected["emb_8k"]).abs().max().item() < 1e-3
    native_emb, _ = titanet.infer_segment(samples)
    assert (emb - native_emb).abs().max().item() > 1e-5, "the 8 kHz samples were used without resampling"
    with open_dict(titanet.cfg):
        titanet.cfg.train_ds.sample_rate = 8000
    try:
        torch.testing.assert_close(titanet.get_embedding(str(path)), native_emb, atol=1e-6, rtol=0)
    finally:
        with open_dict(titanet.cfg):
            titanet.cfg.train_ds.sample_rate = 16000


def test_verify_speakers_decides_and_scores_as_nemo(titanet, expected):
    files = expected["files"]
    decisions = [key for key in expected if key.startswith("verify/")]
    assert len(decisions) == 16
    for key in decisions:
        _, first, second, threshold = key.split("/")
        same = titanet.verify_speakers(
            str(REPO_ROOT / files[int(first)]),
            str(REPO_ROOT / files[int(second)]),
            threshold=float(threshold),
        )
        assert same is bool(expected[key]), f"{key}: got {same}"
    for key in (key for key in expected if key.startswith("score/")):
        _, first, second = key.split("/")
        score = speaker_similarity(
            titanet.get_embedding(str(REPO_ROOT / files[int(first)])),
            titanet.get_embedding(str(REPO_ROOT / files[int(second)])),
        )
        assert score == pytest.approx(expected[key].item(), abs=2e-7), (
            f"{key}: NeMo's flips at {expected[key]}"
        )


def test_verify_speakers_threshold_is_inclusive(titanet, expected):
    first, second = (str(REPO_ROOT / name) for name in expected["files"][2:4])
    score = speaker_similarity(titanet.get_embedding(first), titanet.get_embedding(second))

    assert titanet.verify_speakers(first, second, threshold=score)
    assert not titanet.verify_speakers(first, second, threshold=score + 1e-6)


def test_speaker_similarity_is_the_shifted_cosine():
    a = torch.tensor([[3.0, 4.0]])
    assert speaker_similarity(a, 2 * a) == pytest.approx(1.0)
    assert speaker_similarity(a, -a) == pytest.approx(0.0)
    assert speaker_similarity(a, torch.tensor([[-4.0, 3.0]])) == pytest.approx(0.5)


def test_get_label_without_saved_labels_is_the_nemo_label_id(titanet, expected):
    for index, name in enumerate(expected["files"]):
        assert titanet.get_label(str(REPO_ROOT / name)) == expected[f"label/{index}"]
