"""``FastPitchModel.export("fp.onnx")`` writes NeMo's graph (inputs text, pitch, pace [, speaker]; outputs spect,
num_frames, durs_predicted, log_durs_predicted, pitch_predicted) and onnxruntime reproduces NeMo's spectrograms."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from nemo.collections.tts.models import FastPitchModel

DATA = Path(__file__).parent / "data"
OUTPUTS = ["spect", "num_frames", "durs_predicted", "log_durs_predicted", "pitch_predicted"]


def _run(path: Path, **inputs: torch.Tensor) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {name: value.numpy() for name, value in inputs.items()})))


def test_export_single_speaker_matches_nemo_and_torch(nemo_fastpitch, fixture_io, tmp_path):
    path = tmp_path / "fp.onnx"
    written, _ = nemo_fastpitch.export(str(path))
    assert written == [str(path)]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["text", "pitch", "pace"]
    assert [o.name for o in session.get_outputs()] == OUTPUTS

    # A batch of another size and length than the export example: the axes are dynamic.
    tokens = fixture_io["tokens"]
    zeros, ones = torch.zeros(tokens.shape), torch.ones(tokens.shape)
    found = _run(path, text=tokens, pitch=zeros, pace=ones)
    assert np.abs(found["spect"] - fixture_io["spect"].numpy()).max() <= 1e-4
    assert np.array_equal(found["num_frames"], fixture_io["num_frames"].numpy())

    # NeMo's exported graph is FastPitchModule.infer: a pitch shift and a pace per token.
    extra = torch.load(DATA / "fastpitch_chars_tiny.extra.pt", weights_only=True)
    found = _run(path, text=tokens, pitch=extra["infer_pitch"], pace=extra["infer_pace"])
    for name in OUTPUTS:
        expected = extra[f"infer_{name}"].numpy()
        assert found[name].shape == expected.shape, name
        assert np.abs(found[name] - expected).max() <= 1e-4, name
    # The module's typecheck is back on and the export-only types are gone after export.
    assert nemo_fastpitch.input_types is None
    with pytest.raises(TypeError):
        nemo_fastpitch(text=tokens, pitch=None)


def test_export_multi_speaker_has_speaker_input(tmp_path):
    io = torch.load(DATA / "fastpitch_phonemes_2spk_tiny.io.pt", weights_only=True)
    model = FastPitchModel.restore_from(str(DATA / "fastpitch_phonemes_2spk_tiny.nemo")).eval()
    path = tmp_path / "fp_2spk.onnx"
    model.export(str(path))
    tokens = io["tokens"]
    found = _run(
        path,
        text=tokens,
        pitch=torch.zeros(tokens.shape),
        pace=torch.ones(tokens.shape),
        speaker=io["speakers"],
    )
    assert np.abs(found["spect"] - io["spect"].numpy()).max() <= 1e-4


def test_export_with_volume_stretches_it_to_frames(nemo_fastpitch, fixture_io, tmp_path):
    nemo_fastpitch.set_export_config({"enable_volume": True})
    path = tmp_path / "fp_volume.onnx"
    nemo_fastpitch.export(str(path))
    tokens = fixture_io["tokens"]
    volume = torch.linspace(0.5, 1.5, tokens.numel()).view(tokens.shape)
    found = _run(
        path, text=tokens, pitch=torch.zeros(tokens.shape), pace=torch.ones(tokens.shape), volume=volume
    )
    assert np.abs(found["spect"] - fixture_io["spect"].numpy()).max() <= 1e-4
    reps = torch.floor(fixture_io["durs_predicted"] + 0.5).long()
    for row in range(tokens.shape[0]):
        expected = torch.repeat_interleave(volume[row], reps[row]).numpy()
        assert np.array_equal(found["volume_aligned"][row, : len(expected)], expected)
        assert not found["volume_aligned"][row, len(expected) :].any()


def test_ragged_batch_export_is_refused_with_the_setting_to_change(nemo_fastpitch, tmp_path):
    nemo_fastpitch.set_export_config({"enable_ragged_batches": True})
    with pytest.raises(NotImplementedError, match="enable_ragged_batches"):
        nemo_fastpitch.export(str(tmp_path / "fp.onnx"))
