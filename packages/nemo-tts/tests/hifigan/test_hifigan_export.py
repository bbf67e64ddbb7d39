"""HifiGanModel exports its generator to ONNX as NeMo does (input ``spec``, output ``audio``), and onnxruntime
reproduces torch's audio, including for batch sizes and lengths other than the traced example."""

from pathlib import Path

import numpy as np
import pytest
import torch
from nemo.collections.tts.models import HifiGanModel

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def model() -> HifiGanModel:
    return HifiGanModel.restore_from(DATA / "hifigan_tiny.nemo", map_location="cpu").eval()


@pytest.fixture(scope="module")
def onnx_path(model: HifiGanModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hifigan_onnx") / "hifigan.onnx"
    written, _ = model.export(str(path))
    assert written == [str(path)]
    return path


def test_graph_has_nemos_names_and_dynamic_axes(onnx_path: Path) -> None:
    graph = onnx.load(str(onnx_path)).graph
    assert [i.name for i in graph.input] == ["spec"]
    assert [o.name for o in graph.output] == ["audio"]
    spec_dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    audio_dims = [d.dim_param or d.dim_value for d in graph.output[0].type.tensor_type.shape.dim]
    assert isinstance(spec_dims[0], str) and spec_dims[1] == 80 and isinstance(spec_dims[2], str)
    assert isinstance(audio_dims[0], str) and audio_dims[1] == 1 and isinstance(audio_dims[2], str)


@pytest.mark.parametrize("shape", [(2, 80, 24), (1, 80, 57)])
def test_onnxruntime_matches_torch(model: HifiGanModel, onnx_path: Path, shape: tuple[int, int, int]) -> None:
    spec = torch.randn(*shape, generator=torch.Generator().manual_seed(3)) * 2 - 5
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (audio_onnx,) = session.run(["audio"], {"spec": spec.numpy()})
    with torch.inference_mode():
        audio_torch = model(spec=spec)
    assert audio_onnx.shape == (shape[0], 1, shape[2] * 256)
    np.testing.assert_allclose(audio_onnx, audio_torch.numpy(), atol=1e-5, rtol=0)


def test_export_leaves_the_model_unchanged(model: HifiGanModel, onnx_path: Path) -> None:
    keys = set(model.state_dict())
    assert "generator.conv_pre.weight_g" in keys and "generator.conv_pre.weight" not in keys
    expected = torch.load(DATA / "hifigan_tiny.io.pt", weights_only=True)
    with torch.inference_mode():
        audio = model.convert_spectrogram_to_audio(spec=expected["spec"])
    torch.testing.assert_close(audio, expected["audio"], atol=1e-4, rtol=0)
