"""EncDecClassificationModel against NeMo 1.23: the matchboxnet fixture, transcribe, configs, labels, loss.

Expected values are NeMo's: the fixture's ``.io.pt`` (features and logits computed by NeMo 1.23) and
``data/nemo_expected.pt`` (NeMo's ``transcribe`` on the committed clips, see ``make_nemo_expected.py``).
"""

import io
import json
import math
import tarfile
from pathlib import Path

import pytest
import soundfile as sf
import torch
from hydra import compose, initialize_config_dir
from nemo.collections.asr.models import EncDecClassificationModel
from nemo.core import registry
from nemo.core.cli.train import resolve_config
from omegaconf import OmegaConf, open_dict

FIXTURE = Path(__file__).resolve().parent / "data" / "matchboxnet_3x1x64_v1_tiny.nemo"
LABEL_MANIFEST = Path(__file__).resolve().parent / "data" / "label_manifest.json"
V1_WORDS = (
    "bed bird cat dog down eight five four go happy house left marvin nine no off on one right seven sheila six "
    "stop three tree two up wow yes zero"
).split()


@pytest.fixture(scope="module")
def model() -> EncDecClassificationModel:
    return EncDecClassificationModel.restore_from(str(FIXTURE), map_location="cpu").eval()


def test_fixture_reproduces_nemo_features_and_logits(model, fixture_io):
    signal, signal_len = fixture_io["input_signal"], fixture_io["input_signal_length"]
    with torch.inference_mode():
        features, features_len = model.preprocessor(input_signal=signal, length=signal_len)
        logits = model(input_signal=signal, input_signal_length=signal_len)
    torch.testing.assert_close(features, fixture_io["features"], atol=1e-4, rtol=1e-4)
    assert features_len.tolist() == fixture_io["features_len"].tolist()
    torch.testing.assert_close(logits, fixture_io["logits"], atol=1e-4, rtol=1e-4)
    assert list(model.cfg.labels) == list(fixture_io["labels"]) == V1_WORDS


def test_transcribe_wav_files_gives_nemo_logits_and_argmax_labels(model, fixture_io, tmp_path):
    # Each file holds a whole row of NeMo's zero-padded input batch: the logits NeMo computed for that batch
    # depend on the padding only (the crop/pad step sets every length to 128 frames).
    paths = []
    for index, signal in enumerate(fixture_io["input_signal"]):
        paths.append(str(tmp_path / f"input_{index}.wav"))
        sf.write(paths[-1], signal.numpy(), 16000, subtype="FLOAT")
    logits = model.transcribe(paths, batch_size=2, logprobs=True)
    torch.testing.assert_close(
        torch.stack([torch.as_tensor(row) for row in logits]), fixture_io["logits"], atol=1e-4, rtol=1e-4
    )
    expected = [V1_WORDS[index] for index in fixture_io["logits"].argmax(dim=-1).tolist()]
    assert model.transcribe(paths, batch_size=2) == expected


def test_transcribe_batches_in_input_order_as_nemo(model, nemo_expected, clip_paths):
    logits = model.transcribe(clip_paths, batch_size=2, logprobs=True)
    for ours, theirs in zip(logits, nemo_expected["transcribe_logits"], strict=True):
        torch.testing.assert_close(torch.as_tensor(ours), theirs, atol=1e-4, rtol=1e-4)
    labels = model.transcribe(clip_paths, batch_size=2)
    assert labels == [V1_WORDS[index] for index in nemo_expected["transcribe_ids"]]
    assert model.training is False


def test_save_and_restore_again_gives_the_same_outputs(model, fixture_io, tmp_path):
    path = tmp_path / "again.nemo"
    model.save_to(str(path))
    again = EncDecClassificationModel.restore_from(str(path), map_location="cpu").eval()
    with torch.inference_mode():
        logits = again(
            input_signal=fixture_io["input_signal"], input_signal_length=fixture_io["input_signal_length"]
        )
    torch.testing.assert_close(logits, fixture_io["logits"], atol=1e-4, rtol=1e-4)
    assert again.state_dict().keys() == model.state_dict().keys()


def test_change_labels_rebuilds_the_decoder_and_dataset_labels(tmp_path):
    fresh = EncDecClassificationModel.restore_from(str(FIXTURE), map_location="cpu")
    encoder_before = {key: value.clone() for key, value in fresh.encoder.state_dict().items()}
    fresh.change_labels(["yes", "no", "silence"])
    assert fresh.decoder.num_classes == 3
    assert fresh.decoder.decoder_layers[0].weight.shape == (3, 128)
    assert list(fresh.cfg.labels) == list(fresh.cfg.train_ds.labels) == ["yes", "no", "silence"]
    assert fresh.cfg.decoder.num_classes == 3
    for key, value in fresh.encoder.state_dict().items():
        torch.testing.assert_close(value, encoder_before[key])
    with pytest.raises(ValueError, match="non-empty list of labels"):
        fresh.change_labels([])


def _compose(name: str, overrides: list[str]):
    path = registry.find_config(name)
    assert path is not None, f"{name}.yaml is not in the registered config paths"
    with initialize_config_dir(config_dir=str(path.parent), version_base=None):
        return compose(config_name=name, overrides=overrides)


@pytest.mark.parametrize(
    ("name", "num_labels", "optimizer", "crop"),
    [
        ("matchboxnet_3x1x64_v1", 30, "novograd", 128),
        ("matchboxnet_3x1x64_v2", 35, "novograd", 128),
        ("marblenet_3x2x64", 2, "sgd", None),
    ],
)
def test_shipped_config_builds_with_nemo_keys_and_runs_forward(name, num_labels, optimizer, crop):
    cfg = _compose(
        name, ["model.train_ds.manifest_filepath=null", "model.validation_ds.manifest_filepath=null"]
    )
    assert cfg.model.preprocessor._target_ == "nemo.collections.asr.modules.AudioToMFCCPreprocessor"
    assert cfg.model.optim.name == optimizer
    assert OmegaConf.select(cfg, "model.crop_or_pad_augment.audio_length") == crop
    assert cfg.model.train_ds.augmentor.shift.min_shift_ms == -5.0
    model = EncDecClassificationModel(cfg=cfg.model).eval()
    assert model.decoder.num_classes == num_labels
    with torch.inference_mode():
        logits = model(input_signal=torch.randn(2, 16000), input_signal_length=torch.tensor([16000, 12000]))
    assert logits.shape == (2, num_labels)
    assert torch.isfinite(logits).all()


def test_nemo_train_finds_the_classification_configs():
    path, spec = resolve_config("asr.EncDecClassificationModel")
    assert path.name == "matchboxnet_3x1x64_v1.yaml" and spec.name == "asr.EncDecClassificationModel"
    assert registry.get_model_class("asr.EncDecClassificationModel") is EncDecClassificationModel
    for name in ("matchboxnet_3x1x64_v2", "marblenet_3x2x64"):
        assert resolve_config(name)[0].name == f"{name}.yaml"


def test_label_smoothing_key_smooths_the_cross_entropy():
    cfg = _compose(
        "marblenet_3x2x64",
        ["model.train_ds.manifest_filepath=null", "model.validation_ds.manifest_filepath=null"],
    )
    with open_dict(cfg.model):
        cfg.model.label_smoothing = 0.2
    model = EncDecClassificationModel(cfg=cfg.model)
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5]])
    labels = torch.tensor([0, 1])
    log_probs = torch.log_softmax(logits, dim=-1)
    # (1 - eps) * NLL + eps * mean over classes of -log p: the smoothed target puts eps / C on every class.
    expected = torch.stack(
        [0.8 * -log_probs[row, labels[row]] + 0.2 * -log_probs[row].mean() for row in range(2)]
    ).mean()
    assert math.isclose(float(model.loss(logits=logits, labels=labels)), float(expected), rel_tol=1e-6)


def test_regression_flag_is_refused():
    cfg = _compose(
        "marblenet_3x2x64",
        ["model.train_ds.manifest_filepath=null", "model.validation_ds.manifest_filepath=null"],
    )
    with open_dict(cfg.model):
        cfg.model.is_regression_task = True
    with pytest.raises(ValueError, match="is_regression_task: false"):
        EncDecClassificationModel(cfg=cfg.model)


def test_nemo_import_path_of_the_frame_model_resolves():
    from nemo.collections.asr.models import classification_models, frame_classification_models

    frame_model = frame_classification_models.EncDecFrameClassificationModel
    assert classification_models.EncDecFrameClassificationModel is frame_model
    assert issubclass(frame_model, EncDecClassificationModel)


def _marblenet(overrides: list[str] = ()) -> EncDecClassificationModel:
    cfg = _compose(
        "marblenet_3x2x64",
        ["model.train_ds.manifest_filepath=null", "model.validation_ds.manifest_filepath=null", *overrides],
    )
    return EncDecClassificationModel(cfg=cfg.model)


def test_vad_stream_loader_gives_nemo_windows_one_file_per_batch(nemo_expected):
    model = _marblenet()
    loader = model._setup_dataloader_from_config(
        {
            "manifest_filepath": str(LABEL_MANIFEST),
            "labels": ["noise", "tone"],
            "sample_rate": 16000,
            "batch_size": 4,
            "vad_stream": True,
            "window_length_in_sec": 0.1,
            "shift_length_in_sec": 0.05,
            "normalize_audio": True,
        }
    )
    windows, window_len, labels, counts = next(iter(loader))
    first = int(nemo_expected["vad_label_len"][0])
    assert counts.tolist() == [first]
    torch.testing.assert_close(windows, nemo_expected["vad_audio"][:first], atol=1e-6, rtol=0)
    assert labels.tolist() == nemo_expected["vad_label"][:first].tolist()


def test_tarred_training_data_streams_the_shards_in_batches(tmp_path, clip_paths):
    lines = [json.loads(line) for line in LABEL_MANIFEST.read_text(encoding="utf-8").splitlines()]
    with tarfile.open(tmp_path / "audio_0.tar", "w") as tar:
        for path in clip_paths:
            data = Path(path).read_bytes()
            info = tarfile.TarInfo(Path(path).name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    manifest = tmp_path / "tarred_manifest.json"
    manifest.write_text(
        "".join(
            json.dumps({**line, "audio_filepath": Path(line["audio_filepath"]).name}) + "\n" for line in lines
        ),
        encoding="utf-8",
    )
    model = _marblenet()
    model.setup_training_data(
        {
            "manifest_filepath": str(manifest),
            "tarred_audio_filepaths": str(tmp_path / "audio_0.tar"),
            "is_tarred": True,
            "labels": ["noise", "tone"],
            "sample_rate": 16000,
            "batch_size": 2,
            "shuffle": False,
        }
    )
    batches = list(model._train_dl)
    assert [batch[2].tolist() for batch in batches] == [[1, 0], [1, 0]]
    assert [batch[0].shape[1] for batch in batches] == [12800, 9600]


def test_export_onnx_matches_torch_on_each_utterance(model, fixture_io, tmp_path):
    """NeMo 1.23's classification models mix in ExportableEncDecModel: features (1, F, T) in, logits out.

    As in NeMo, the exported graph is encoder + decoder on features that already went through the model's
    ``crop_or_pad_augment`` (NeMo's forward applies it; its export does not), and the ConvASR encoder does
    not mask by length, so each utterance is fed alone, cut to its valid frames.
    """
    import onnxruntime

    path = str(tmp_path / "matchboxnet.onnx")
    model.export(path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for features, length in zip(fixture_io["features"], fixture_io["features_len"]):
        features, lengths = model.crop_or_pad(
            input_signal=features[None, :, : int(length)], length=length.reshape(1)
        )
        feed = {"audio_signal": features.numpy(), "length": lengths.numpy()}
        feed = {node.name: feed[node.name] for node in session.get_inputs()}
        logits = torch.from_numpy(session.run(None, feed)[0])
        with torch.no_grad():
            expected = model(processed_signal=features, processed_signal_length=lengths)
        torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
