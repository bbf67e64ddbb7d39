"""``EncDecFrameClassificationModel``: NeMo's archive and outputs, label reshaping, masked loss and metrics,
and a real Lightning fit on speech padded with silence.

``data/marblenet_3x2x64_20ms_nemo.nemo`` and ``.io.pt`` were written by NeMo 1.23
(``data/make_frame_vad_fixture.py``) from NeMo's own ``marblenet_3x2x64_20ms.yaml``.
"""

from pathlib import Path

import pytest
import torch
from nemo.collections.asr.models import EncDecFrameClassificationModel
from nemo.collections.asr.models.classification_models import EncDecClassificationModel
from nemo.collections.asr.models.classification_models import EncDecFrameClassificationModel as NeMoPathModel
from nemo.collections.asr.models.frame_classification_models import class_statistics, macro_accuracy
from nemo.core import registry
from omegaconf import OmegaConf

DATA = Path(__file__).parent / "data"
ARCHIVE = DATA / "marblenet_3x2x64_20ms_nemo.nemo"
LABEL_STEPS = ("20ms", "40ms", "60ms")
SHIPPED_CONFIG = registry.find_config("marblenet_3x2x64_20ms")


@pytest.fixture(scope="module")
def nemo_io() -> dict[str, torch.Tensor]:
    return torch.load(DATA / "marblenet_3x2x64_20ms_nemo.io.pt", weights_only=True)


@pytest.fixture(scope="module")
def nemo_model() -> EncDecFrameClassificationModel:
    return EncDecFrameClassificationModel.restore_from(str(ARCHIVE), map_location="cpu").eval()


def test_names_resolve_as_in_nemo() -> None:
    assert NeMoPathModel is EncDecFrameClassificationModel
    assert issubclass(EncDecFrameClassificationModel, EncDecClassificationModel)
    assert registry.get_model_class("asr.EncDecFrameClassificationModel") is EncDecFrameClassificationModel
    assert registry.find_config("marblenet_3x2x64_20ms") is not None


def test_nemo_archive_restores_with_nemo_logits(nemo_model, nemo_io) -> None:
    with torch.no_grad():
        logits = nemo_model(input_signal=nemo_io["audio"], input_signal_length=nemo_io["audio_len"])
    assert logits.shape == nemo_io["logits"].shape
    torch.testing.assert_close(logits, nemo_io["logits"], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("step", LABEL_STEPS)
def test_label_reshaping_and_masked_loss_match_nemo(nemo_model, nemo_io, step: str) -> None:
    """20 ms labels (one per frame), and 40 / 60 ms labels repeated onto the 20 ms frames, as NeMo does.

    NeMo caps label lengths with the clips' sample counts (never binding); here the encoder's frame counts
    cap them, so a label past a clip's last valid frame is left out of the loss.
    """
    logits = nemo_io["logits"]
    with torch.no_grad():
        _, encoded_len = nemo_model._logits_and_lengths(nemo_io["audio"], nemo_io["audio_len"], None, None)
        labels, labels_len = nemo_model.reshape_labels(
            logits, nemo_io[f"labels_{step}"], encoded_len, nemo_io[f"labels_len_{step}"]
        )
        batch = (
            nemo_io["audio"],
            nemo_io["audio_len"],
            nemo_io[f"labels_{step}"],
            nemo_io[f"labels_len_{step}"],
        )
        loss, _, _ = nemo_model._loss_and_logits(batch)
    assert torch.equal(labels, nemo_io[f"reshaped_{step}"])
    expected_len = torch.minimum(nemo_io[f"reshaped_len_{step}"], encoded_len)
    assert torch.equal(labels_len, expected_len)
    rows = range(logits.size(0))
    reference = torch.nn.functional.cross_entropy(
        torch.cat([logits[row, : expected_len[row]] for row in rows]),
        torch.cat([labels[row, : expected_len[row]] for row in rows]),
    )
    torch.testing.assert_close(loss, reference, atol=1e-5, rtol=1e-5)
    if torch.equal(expected_len, nemo_io[f"reshaped_len_{step}"]):
        torch.testing.assert_close(loss, nemo_io[f"loss_{step}"], atol=1e-5, rtol=1e-5)


def test_nemo_cases_include_a_capped_length(nemo_io, nemo_model) -> None:
    """At least one case has a label past a clip's valid frames (the cap is tested), one has none (the loss is)."""
    with torch.no_grad():
        _, encoded_len = nemo_model._logits_and_lengths(nemo_io["audio"], nemo_io["audio_len"], None, None)
    capped = [bool((nemo_io[f"reshaped_len_{step}"] > encoded_len).any()) for step in LABEL_STEPS]
    assert any(capped) and not all(capped), capped


@pytest.fixture(scope="module")
def frame_model(frame_vad_config) -> EncDecFrameClassificationModel:
    return EncDecFrameClassificationModel(cfg=frame_vad_config().model)


@pytest.mark.parametrize(
    ("labels", "frames", "expected", "expected_len"),
    [
        # Finer labels, ratio exactly 2: consecutive pairs, speech wins.
        ([[0, 1, 0, 0, 1, 1, 0, 0]], 4, [[1, 0, 1, 0]], [4]),
        # Ratio 15 / 8 = 1.875, within 0.2 below 2: zero-padded to 16, then pairs.
        ([[1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1]], 8, [[1, 0, 1, 1, 0, 0, 1, 1]], [8]),
        # Ratio 7 / 4 = 1.75, not within 0.2 of 2: groups of 1, the labels past the frames dropped.
        ([[1, 0, 0, 0, 0, 1, 1]], 4, [[1, 0, 0, 0]], [4]),
        # Ratio 9 / 4 = 2.25: groups of 2, the ninth label dropped.
        ([[0, 0, 1, 0, 0, 0, 0, 1, 1]], 4, [[0, 1, 0, 1]], [4]),
        # Coarser labels, ratio 2: each repeated twice.
        ([[1, 0, 1]], 6, [[1, 1, 0, 0, 1, 1]], [6]),
        # Ratio 7 / 3 = 2.33: each repeated twice, the last one once more.
        ([[0, 1, 1]], 7, [[0, 0, 1, 1, 1, 1, 1]], [6]),
        # Ratio 5 / 3 = 1.67, not within 0.2 of 2: each once, then the last two again.
        ([[1, 0, 1]], 5, [[1, 0, 1, 0, 1]], [3]),
    ],
)
def test_reshape_labels_by_hand(frame_model, labels, frames, expected, expected_len) -> None:
    labels = torch.tensor(labels)
    logits = torch.zeros(1, frames, 2)
    out, out_len = frame_model.reshape_labels(
        logits, labels, torch.tensor([frames]), torch.tensor([labels.size(1)])
    )
    assert out.tolist() == expected
    assert out_len.tolist() == expected_len


def test_label_lengths_never_exceed_the_encoder_frames(frame_model) -> None:
    labels = torch.ones(2, 6, dtype=torch.long)
    out, out_len = frame_model.reshape_labels(
        torch.zeros(2, 6, 2), labels, torch.tensor([6, 4]), torch.tensor([6, 6])
    )
    assert out_len.tolist() == [6, 4]


def test_loss_and_metrics_use_the_valid_frames_only(frame_model, frame_clips) -> None:
    """Reference: torch's cross entropy and torchmetrics' macro accuracy over the unpadded frames."""
    from nemo.collections.asr.data.audio_to_frame_label import AudioToMultiLabelDataset
    from torchmetrics.classification import MulticlassAccuracy

    dataset = AudioToMultiLabelDataset(
        manifest_filepath=str(frame_clips.manifest), sample_rate=16000, labels=["0", "1"]
    )
    batch = dataset.collate_fn([dataset[index] for index in range(4)])
    frame_model.eval()
    with torch.no_grad():
        loss, metric_logits, metric_labels = frame_model._loss_and_logits(batch)
        logits, encoded_len = frame_model._logits_and_lengths(batch[0], batch[1], None, None)
    valid_logits, valid_labels = [], []
    for row in range(4):
        count = min(int(batch[3][row]), int(encoded_len[row]))
        valid_logits.append(logits[row, :count])
        valid_labels.append(batch[2][row, :count])
    reference_logits, reference_labels = torch.cat(valid_logits), torch.cat(valid_labels)
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(reference_logits, reference_labels))
    torch.testing.assert_close(metric_logits, reference_logits)
    assert torch.equal(metric_labels, reference_labels)
    statistics = class_statistics(metric_logits.argmax(-1), metric_labels, 2)
    expected = MulticlassAccuracy(num_classes=2, average="macro")(metric_logits, metric_labels)
    torch.testing.assert_close(macro_accuracy(statistics), expected)


def test_macro_accuracy_ignores_classes_never_seen() -> None:
    from torchmetrics.classification import MulticlassAccuracy

    predictions, labels = torch.tensor([0, 0, 1, 1, 0]), torch.tensor([0, 1, 1, 1, 0])
    expected = MulticlassAccuracy(num_classes=3, average="macro")(predictions, labels)
    torch.testing.assert_close(macro_accuracy(class_statistics(predictions, labels, 3)), expected)


def test_loss_weight_must_have_one_value_per_label(frame_vad_config) -> None:
    cfg = frame_vad_config().model
    cfg.loss = {"weight": [1.0, 2.0, 3.0]}
    with pytest.raises(ValueError, match=r"loss.weight has 3 values .* expected one per label \(2"):
        EncDecFrameClassificationModel(cfg=cfg)


def test_fit_logs_nemo_metrics_saves_and_restores(
    frame_vad_config, frame_clips, cpu_trainer, loss_recorder, tmp_path
):
    torch.manual_seed(0)
    cfg = frame_vad_config(batch_size=3, lr=0.01, val_batch_size=2)  # three validation batches
    trainer = cpu_trainer(
        max_steps=12, callbacks=[loss_recorder], val_check_interval=1.0, check_val_every_n_epoch=6
    )
    model = EncDecFrameClassificationModel(cfg=cfg.model, trainer=trainer)
    trainer.fit(model)
    losses = loss_recorder.losses
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.7 * sum(losses[:3]) / 3, losses
    logged = trainer.logged_metrics
    for name in (
        "train_loss",
        "learning_rate",
        "training_batch_accuracy_top@1",
        "val_loss",
        "val_acc_macro",
        "val_acc_micro_top@1",
    ):
        assert name in logged, sorted(logged)
    # The epoch-level validation figures, recomputed from the trained model: torch and torchmetrics.
    from torchmetrics.classification import MulticlassAccuracy

    model.eval()
    batch_losses, frame_logits, frame_labels = [], [], []
    with torch.no_grad():
        for audio, audio_len, labels, labels_len in model.val_dataloader():
            logits, logits_len = model._logits_and_lengths(audio, audio_len, None, None)
            rows = range(logits.size(0))
            counts = [min(int(labels_len[row]), int(logits_len[row])) for row in rows]
            batch_logits = torch.cat([logits[row, : counts[row]] for row in rows])
            batch_labels = torch.cat([labels[row, : counts[row]] for row in rows])
            batch_losses.append(torch.nn.functional.cross_entropy(batch_logits, batch_labels))
            frame_logits.append(batch_logits)
            frame_labels.append(batch_labels)
    frame_logits, frame_labels = torch.cat(frame_logits), torch.cat(frame_labels)
    micro = (frame_logits.argmax(-1) == frame_labels).float().mean()
    macro = MulticlassAccuracy(num_classes=2, average="macro")(frame_logits, frame_labels)
    # The epoch loss is the mean over every labelled frame of the set, not a mean of batch means.
    frame_loss = torch.nn.functional.cross_entropy(frame_logits, frame_labels)
    assert float(frame_loss) != pytest.approx(float(torch.stack(batch_losses).mean()), abs=1e-5)
    torch.testing.assert_close(logged["val_loss"], frame_loss, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logged["val_acc_micro_top@1"].float(), micro, atol=1e-6, rtol=0)
    torch.testing.assert_close(logged["val_acc_macro"].float(), macro, atol=1e-6, rtol=0)
    assert float(macro) != float(micro), "balanced classes cannot tell macro from micro accuracy"
    model.setup_test_data(cfg.model.validation_ds)
    (tested,) = trainer.test(model, verbose=False)
    assert tested["test_acc_macro"] == pytest.approx(float(macro), abs=1e-6)
    assert tested["test_acc_micro_top@1"] == pytest.approx(float(micro), abs=1e-6)
    assert tested["test_loss"] == pytest.approx(float(frame_loss), abs=1e-5)

    path = tmp_path / "frame_vad.nemo"
    model.save_to(str(path))
    restored = EncDecFrameClassificationModel.restore_from(str(path), map_location="cpu")
    model.eval()
    restored.eval()
    audio, lengths = next(model._transcribe_batches(frame_clips.paths[:2], 2))
    with torch.no_grad():
        torch.testing.assert_close(
            restored(input_signal=audio, input_signal_length=lengths),
            model(input_signal=audio, input_signal_length=lengths),
        )
    transcripts = restored.transcribe(frame_clips.paths[:2], batch_size=2)
    logits = restored.transcribe(frame_clips.paths[:2], batch_size=2, logprobs=True)
    for transcript, frame_logits in zip(transcripts, logits):
        assert frame_logits.shape[1] == 2
        assert transcript.split() == [["0", "1"][index] for index in frame_logits.argmax(-1).tolist()]


def test_shipped_config_trains_as_is(frame_clips, cpu_trainer, loss_recorder) -> None:
    """NeMo's recipe unchanged but the data: SpecAugment, white noise and gain, SGD with the polynomial-hold
    schedule."""
    cfg = OmegaConf.load(SHIPPED_CONFIG)
    for split in ("train_ds", "validation_ds"):
        cfg.model[split].manifest_filepath = str(frame_clips.manifest)
        cfg.model[split].batch_size = 3
        cfg.model[split].num_workers = 0
    trainer = cpu_trainer(max_steps=3, callbacks=[loss_recorder], limit_val_batches=0)
    model = EncDecFrameClassificationModel(cfg=cfg.model, trainer=trainer)
    assert model.spec_augmentation is not None
    pipeline = model._train_dl.dataset.featurizer.augmentor._pipeline
    assert [(prob, type(perturbation).__name__) for prob, perturbation in pipeline] == [
        (0.9, "WhiteNoisePerturbation"),
        (0.5, "GainPerturbation"),
    ]
    trainer.fit(model)
    assert len(loss_recorder.losses) == 3 and all(torch.isfinite(torch.tensor(loss_recorder.losses)))
    assert type(model._scheduler["scheduler"]).__name__ == "PolynomialHoldDecayAnnealing"


def test_frame_vad_passes_the_conformance_kit(frame_vad_config, tmp_path) -> None:
    from nemo.core.conformance import assert_model_conforms

    cfg = frame_vad_config(batch_size=3, lr=0.01, val_batch_size=2)
    audio = 0.1 * torch.randn(2, 16000, generator=torch.Generator().manual_seed(0))
    inputs = {"input_signal": audio, "input_signal_length": torch.tensor([16000, 12000])}
    assert_model_conforms(EncDecFrameClassificationModel, cfg, tmp_path, inputs=inputs)
