"""``model.export`` of the CTC, RNN-T and hybrid models to ONNX and TorchScript, run back with onnxruntime and
``torch.jit.load``.

References: NeMo 1.23's own outputs on the bundled fixtures (``tests/data/nemo-1.23/*.io.pt``: log-probs of
NeMo's ``forward``), the PyTorch model on a real speech clip (Asterisk prompt), and for transducers the
conftest's step-by-step greedy search (plain ``decoder.predict`` + ``joint.joint``).
"""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime
import pytest
import soundfile as sf
import torch
from nemo.collections.asr.models import EncDecCTCModel, EncDecHybridRNNTCTCModel, EncDecRNNTModel
from nemo.collections.asr.parts.submodules.jasper import MaskedConv1d
from nemo.core.classes.typecheck import typecheck

pytestmark = pytest.mark.filterwarnings(
    "ignore::torch.jit.TracerWarning",
    "ignore:`torch.jit.load` is deprecated:DeprecationWarning",
    "ignore::UserWarning",
    "ignore:This property will be removed:DeprecationWarning",
)

REPO = Path(__file__).resolve().parents[4]
NEMO_FIXTURES = REPO / "tests" / "data" / "nemo-1.23"
HYBRID_NEMO = REPO / "packages" / "nemo-asr" / "tests" / "models" / "data" / "hybrid_rnnt_ctc_char_tiny.nemo"


@pytest.fixture(scope="module")
def conformer_ctc() -> EncDecCTCModel:
    return EncDecCTCModel.restore_from(
        str(NEMO_FIXTURES / "conformer_ctc_char_tiny.nemo"), map_location="cpu"
    ).eval()


@pytest.fixture(scope="module")
def quartznet_ctc() -> EncDecCTCModel:
    return EncDecCTCModel.restore_from(
        str(NEMO_FIXTURES / "quartznet_ctc_char_tiny.nemo"), map_location="cpu"
    ).eval()


@pytest.fixture(scope="module")
def hybrid() -> EncDecHybridRNNTCTCModel:
    return EncDecHybridRNNTCTCModel.restore_from(str(HYBRID_NEMO), map_location="cpu").eval()


def nemo_io(name: str) -> dict[str, torch.Tensor]:
    return torch.load(NEMO_FIXTURES / f"{name}.io.pt", weights_only=True)


def clip_features(model, speech) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's features (1, F, T) of the first bundled speech clip, and their length (1,)."""
    samples, _ = sf.read(speech.paths[0], dtype="float32")
    audio = torch.from_numpy(samples).unsqueeze(0)
    with torch.no_grad():
        return model.preprocessor(input_signal=audio, length=torch.tensor([audio.size(1)]))


def run_onnx(path: str, **inputs: torch.Tensor) -> list[torch.Tensor]:
    """Run an ONNX file; inputs the graph dropped (unused by its outputs) are not fed."""
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = {node.name: inputs[node.name].numpy() for node in session.get_inputs()}
    return [torch.from_numpy(array) for array in session.run(None, feed)]


def graph_io(path: str) -> tuple[list[str], list[str]]:
    graph = onnx.load(path).graph
    return [node.name for node in graph.input], [node.name for node in graph.output]


def torch_log_probs(model, features: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        log_probs, _, _ = model(processed_signal=features, processed_signal_length=length)
    return log_probs


# ------------------------------------------------------------------------------------------------ CTC
def test_conformer_ctc_onnx_matches_nemo_on_a_padded_batch(conformer_ctc, tmp_path):
    path = str(tmp_path / "conformer.onnx")
    files, descriptions = conformer_ctc.export(path)
    assert files == [path] and "EncDecCTCModel exported to ExportFormat.ONNX" in descriptions[0]
    assert graph_io(path) == (["audio_signal", "length"], ["logprobs"])

    # NeMo 1.23's log-probs of two utterances of different lengths, padded together (151 and 106 frames).
    io = nemo_io("conformer_ctc_char_tiny")
    (log_probs,) = run_onnx(path, audio_signal=io["mel"], length=io["mel_len"])
    assert log_probs.shape == io["log_probs"].shape
    for row, frames in enumerate(io["encoded_len"].tolist()):
        torch.testing.assert_close(log_probs[row, :frames], io["log_probs"][row, :frames], atol=1e-4, rtol=0)


def test_conformer_ctc_onnx_and_torchscript_match_torch_on_speech(conformer_ctc, speech, tmp_path):
    features, length = clip_features(conformer_ctc, speech)
    expected = torch_log_probs(conformer_ctc, features, length)

    onnx_path = str(tmp_path / "conformer.onnx")
    conformer_ctc.export(onnx_path, check_trace=True)
    (found,) = run_onnx(onnx_path, audio_signal=features, length=length)
    torch.testing.assert_close(found, expected, atol=1e-4, rtol=0)

    ts_path = str(tmp_path / "conformer.ts")
    conformer_ctc.export(ts_path, check_trace=True)
    loaded = torch.jit.load(ts_path)
    assert [arg.name for arg in loaded.forward.schema.arguments[1:]] == ["input", "length"]  # NeMo's names
    torch.testing.assert_close(loaded(features, length), expected, atol=1e-4, rtol=0)


def test_traced_conformer_still_masks_padding_when_traced_on_full_length(conformer_ctc, speech, tmp_path):
    """Tracing on an unpadded example must not bake in the no-padding shortcut of the attention masks."""
    features, length = clip_features(conformer_ctc, speech)
    path = str(tmp_path / "conformer.onnx")
    conformer_ctc.export(path, input_example=(features, length))
    io = nemo_io("conformer_ctc_char_tiny")
    (log_probs,) = run_onnx(path, audio_signal=io["mel"], length=io["mel_len"])
    frames = int(io["encoded_len"][1])
    torch.testing.assert_close(log_probs[1, :frames], io["log_probs"][1, :frames], atol=1e-4, rtol=0)


def test_quartznet_ctc_onnx_and_torchscript_match_nemo_and_torch(quartznet_ctc, speech, tmp_path):
    onnx_path, ts_path = str(tmp_path / "qn.onnx"), str(tmp_path / "qn.ts")
    quartznet_ctc.export(onnx_path, check_trace=True)
    quartznet_ctc.export(ts_path, check_trace=True)
    loaded = torch.jit.load(ts_path)

    # As in NeMo, the exported ConvASREncoder does not mask by length: compare unpadded inputs.
    io = nemo_io("quartznet_ctc_char_tiny")
    full = io["mel"][:1, :, : int(io["mel_len"][0])]
    (found,) = run_onnx(onnx_path, audio_signal=full, length=io["mel_len"][:1])
    torch.testing.assert_close(found, io["log_probs"][:1], atol=1e-4, rtol=0)
    torch.testing.assert_close(loaded(full, io["mel_len"][:1]), io["log_probs"][:1], atol=1e-4, rtol=0)

    features, length = clip_features(quartznet_ctc, speech)
    expected = torch_log_probs(quartznet_ctc, features, length)
    (found,) = run_onnx(onnx_path, audio_signal=features, length=length)
    torch.testing.assert_close(found, expected, atol=1e-4, rtol=0)
    torch.testing.assert_close(loaded(features, length), expected, atol=1e-4, rtol=0)


def test_export_leaves_the_model_as_it_was(quartznet_ctc, tmp_path):
    quartznet_ctc.train()
    try:
        quartznet_ctc.export(str(tmp_path / "qn.onnx"))
        assert quartznet_ctc.training
        masked = [m for m in quartznet_ctc.encoder.modules() if isinstance(m, MaskedConv1d)]
        assert masked and all(m.use_mask for m in masked)
        assert "forward" not in quartznet_ctc.__dict__
    finally:
        quartznet_ctc.eval()


def test_streaming_cache_export_is_refused_by_name(conformer_ctc):
    with pytest.raises(NotImplementedError, match="cache_support"):
        conformer_ctc.set_export_config({"cache_support": True})
    conformer_ctc.set_export_config({"cache_support": False})
    features = torch.randn(1, 80, 32)
    with pytest.raises(NotImplementedError, match="cache_last_channel"):
        conformer_ctc.encoder.forward_for_export(
            features, torch.tensor([32]), cache_last_channel=torch.zeros(1)
        )
    with pytest.raises(ValueError, match="decoder_type"):
        conformer_ctc.set_export_config({"decoder_type": "ctc"})


# ---------------------------------------------------------------------------------------------- RNN-T
def onnx_greedy(
    encoder_path: str,
    decoder_joint_path: str,
    features,
    length,
    blank: int,
    layers: int,
    hidden: int,
    max_symbols: int,
) -> list[int]:
    """Greedy transducer search over the two exported graphs (NeMo's ONNX inference loop, written here)."""
    encoded, encoded_len = run_onnx(encoder_path, audio_signal=features, length=length)
    session = onnxruntime.InferenceSession(decoder_joint_path, providers=["CPUExecutionProvider"])
    h = c = torch.zeros(layers, 1, hidden).numpy()
    last, tokens = blank, []
    for frame in range(int(encoded_len[0])):
        frame_features = encoded[:, :, frame : frame + 1].numpy()
        for _ in range(max_symbols):
            scores, _, new_h, new_c = session.run(
                None,
                {
                    "encoder_outputs": frame_features,
                    "targets": torch.tensor([[last]], dtype=torch.int32).numpy(),
                    "target_length": torch.tensor([1], dtype=torch.int32).numpy(),
                    "input_states_1": h,
                    "input_states_2": c,
                },
            )
            token = int(scores[0, 0, 0].argmax())
            if token == blank:
                break
            tokens.append(token)
            last, h, c = token, new_h, new_c
    return tokens


@pytest.fixture(scope="module")
def tiny_rnnt(tiny_asr_config) -> EncDecRNNTModel:
    torch.manual_seed(0)
    return EncDecRNNTModel(cfg=tiny_asr_config("rnnt", encoder="convasr")).eval()


def test_rnnt_onnx_writes_encoder_and_decoder_joint_with_nemo_names(
    tiny_rnnt, speech, step_by_step_greedy, tmp_path
):
    path = tmp_path / "rnnt.onnx"
    files, _ = tiny_rnnt.export(str(path), check_trace=True)
    encoder_path, decoder_joint_path = (
        str(tmp_path / "encoder-rnnt.onnx"),
        str(tmp_path / "decoder_joint-rnnt.onnx"),
    )
    assert files == [encoder_path, decoder_joint_path] and not path.exists()
    assert tiny_rnnt.list_export_subnets() == ["encoder", "decoder_joint"]
    assert graph_io(encoder_path) == (["audio_signal", "length"], ["outputs", "encoded_lengths"])
    assert graph_io(decoder_joint_path) == (
        ["encoder_outputs", "targets", "target_length", "input_states_1", "input_states_2"],
        ["outputs", "prednet_lengths", "output_states_1", "output_states_2"],
    )
    assert tiny_rnnt.joint.log_softmax is None  # restored after export

    features, length = clip_features(tiny_rnnt, speech)
    with torch.no_grad(), typecheck.disable_checks():
        encoded, encoded_len = tiny_rnnt.encoder(audio_signal=features, length=length)
    found, found_len = run_onnx(encoder_path, audio_signal=features, length=length)
    torch.testing.assert_close(found, encoded, atol=1e-4, rtol=0)
    assert found_len.tolist() == encoded_len.tolist()

    # The exported joint scores are unnormalised (as in NeMo): equal to the joint's log-probs after log-softmax.
    blank = tiny_rnnt.decoder.blank_idx
    h = c = torch.zeros(1, 1, 32)
    scores, prednet_len, new_h, new_c = run_onnx(
        decoder_joint_path,
        encoder_outputs=encoded[:, :, :5],
        targets=torch.tensor([[3]], dtype=torch.int32),
        target_length=torch.tensor([1], dtype=torch.int32),
        input_states_1=h,
        input_states_2=c,
    )
    with torch.no_grad():
        prediction, (want_h, want_c) = tiny_rnnt.decoder.predict(torch.tensor([[3]]), (h, c), add_sos=False)
        log_probs = tiny_rnnt.joint.joint(encoded[:, :, :5].transpose(1, 2), prediction)
    torch.testing.assert_close(scores.log_softmax(-1), log_probs, atol=1e-4, rtol=0)
    torch.testing.assert_close((new_h, new_c), (want_h, want_c), atol=1e-5, rtol=0)
    assert prednet_len.tolist() == [1]

    tokens = onnx_greedy(encoder_path, decoder_joint_path, features, length, blank, 1, 32, max_symbols=2)
    assert tokens  # untrained weights: it emits, so the comparison below means something
    assert tokens == step_by_step_greedy(tiny_rnnt, encoded[0], int(encoded_len[0]), 2)


def test_rnnt_torchscript_files_load_and_match(tiny_rnnt, speech, tmp_path):
    files, _ = tiny_rnnt.export(str(tmp_path / "rnnt.ts"), check_trace=True)
    encoder = torch.jit.load(files[0])
    decoder_joint = torch.jit.load(files[1])
    assert [a.name for a in encoder.forward.schema.arguments[1:]] == ["audio_signal", "length"]
    assert [a.name for a in decoder_joint.forward.schema.arguments[1:]] == [
        "encoder_outputs",
        "targets",
        "target_length",
        "input_states_1",
        "input_states_2",
    ]
    features, length = clip_features(tiny_rnnt, speech)
    with torch.no_grad(), typecheck.disable_checks():
        encoded, _ = tiny_rnnt.encoder(audio_signal=features, length=length)
        torch.testing.assert_close(encoder(features, length)[0], encoded, atol=1e-4, rtol=0)
        targets = torch.tensor([[tiny_rnnt.decoder.blank_idx, 4]], dtype=torch.int32)
        h = c = torch.zeros(1, 1, 32)
        scores, _, _, _ = decoder_joint(
            encoded[:, :, :3], targets, torch.tensor([2], dtype=torch.int32), h, c
        )
        prediction, _ = tiny_rnnt.decoder.predict(targets.long(), (h, c), add_sos=False)
        log_probs = tiny_rnnt.joint.joint(encoded[:, :, :3].transpose(1, 2), prediction)
    assert scores.shape == (1, 3, 2, 29)
    torch.testing.assert_close(scores.log_softmax(-1), log_probs, atol=1e-4, rtol=0)


def test_hybrid_exports_its_current_head(hybrid, speech, tmp_path):
    files, _ = hybrid.export(str(tmp_path / "h.onnx"))
    assert [Path(f).name for f in files] == ["encoder-h.onnx", "decoder_joint-h.onnx"]
    features, length = clip_features(hybrid, speech)
    with torch.no_grad(), typecheck.disable_checks():
        encoded, _ = hybrid.encoder(audio_signal=features, length=length)
        ctc_log_probs = hybrid.ctc_decoder(encoder_output=encoded)
    found, _ = run_onnx(files[0], audio_signal=features, length=length)  # Conformer encoder
    torch.testing.assert_close(found, encoded, atol=1e-4, rtol=0)

    hybrid.set_export_config({"decoder_type": "ctc"})
    try:
        assert hybrid.cur_decoder == "ctc" and hybrid.list_export_subnets() == ["self"]
        files, _ = hybrid.export(str(tmp_path / "h_ctc.onnx"))
        assert graph_io(files[0]) == (["audio_signal", "length"], ["logprobs"])
        (found,) = run_onnx(files[0], audio_signal=features, length=length)
        torch.testing.assert_close(found, ctc_log_probs, atol=1e-4, rtol=0)
    finally:
        hybrid.change_decoding_strategy(decoder_type="rnnt")
