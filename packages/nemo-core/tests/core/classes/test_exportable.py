import onnx
import onnxruntime
import pytest
import torch
from nemo.core.classes.exportable import Exportable, ExportFormat, get_export_format
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import is_typecheck_enabled, typecheck
from nemo.core.neural_types import AcousticEncodedRepresentation, LengthsType, NeuralType, SpectrogramType

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")


class TinyEncoder(NeuralModule, Exportable):
    """(B, D=4, T) features and (B,) lengths -> (B, 6, T) encoding and the same lengths."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(4, 6, kernel_size=3, padding=1)
        self.events = []

    @property
    def input_types(self):
        return {
            "features": NeuralType(("B", "D", "T"), SpectrogramType()),
            "length": NeuralType(tuple("B"), LengthsType()),
        }

    @property
    def output_types(self):
        return {
            "encoded": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "encoded_len": NeuralType(tuple("B"), LengthsType()),
        }

    def input_example(self, max_batch=None, max_dim=None):
        return torch.randn(2, 4, 10), torch.tensor([10, 7])

    @typecheck()
    def forward(self, features, length):
        self.events.append(("forward", is_typecheck_enabled()))
        return torch.relu(self.conv(features)), length

    def _prepare_for_export(self, **kwargs):
        self.events.append(("prepare", kwargs["onnx_opset_version"]))

    def _export_teardown(self):
        self.events.append(("teardown", None))


def run_onnx(path, **inputs):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {name: value.numpy() for name, value in inputs.items()})


@pytest.mark.parametrize(
    ("name", "expected"),
    [("m.onnx", ExportFormat.ONNX), ("m.ts", ExportFormat.TORCHSCRIPT), ("m.PT", ExportFormat.TORCHSCRIPT)],
)
def test_format_follows_extension(name, expected):
    assert get_export_format(name) is expected


def test_unknown_extension_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"extension '.bin'.*\.onnx"):
        TinyEncoder().export(str(tmp_path / "model.bin"))


def test_onnx_round_trip_with_names_and_dynamic_axes_from_neural_types(tmp_path):
    module = TinyEncoder()
    path = tmp_path / "encoder.onnx"
    written, descriptions = module.export(str(path))
    assert written == [str(path)] and "exported to ExportFormat.ONNX" in descriptions[0]

    graph = onnx.load(str(path)).graph
    assert [node.name for node in graph.input] == ["features", "length"]
    assert [node.name for node in graph.output] == ["encoded", "encoded_len"]
    dims = [dim.dim_param or dim.dim_value for dim in graph.input[0].type.tensor_type.shape.dim]
    assert dims[1] == 4 and isinstance(dims[0], str) and isinstance(dims[2], str)

    features, length = torch.randn(3, 4, 25), torch.tensor([25, 20, 5])
    encoded, encoded_len = run_onnx(path, features=features, length=length)
    with torch.no_grad(), typecheck.disable_checks():
        expected, _ = module(features, length)
    assert torch.allclose(torch.from_numpy(encoded), expected, atol=1e-5)
    assert encoded_len.tolist() == [25, 20, 5]


def test_export_runs_with_checks_off_and_restores_state(tmp_path):
    module = TinyEncoder().train()
    module.export(str(tmp_path / "encoder.onnx"), onnx_opset_version=13)
    assert ("forward", False) in module.events and ("forward", True) not in module.events
    assert module.events[0] == ("prepare", 13) and module.events[-1] == ("teardown", None)
    assert is_typecheck_enabled() and module.training
    typecheck.set_typecheck_enabled(enabled=False)
    try:
        module.export(str(tmp_path / "again.onnx"))
        assert not is_typecheck_enabled()
    finally:
        typecheck.set_typecheck_enabled(enabled=True)


@pytest.mark.parametrize("extension", [".ts", ".pt"])
def test_torchscript_round_trip(tmp_path, extension):
    module = TinyEncoder()
    path = tmp_path / f"encoder{extension}"
    module.export(str(path), check_trace=True)
    loaded = torch.jit.load(str(path))
    features, length = torch.randn(1, 4, 12), torch.tensor([12])
    encoded, encoded_len = loaded(features, length)
    with torch.no_grad(), typecheck.disable_checks():
        expected, _ = module(features, length)
    assert torch.allclose(encoded, expected, atol=1e-6) and encoded_len.tolist() == [12]


class SignDependent(TinyEncoder):
    """Exports a branch on the data: tracing keeps the branch of the input example only."""

    def input_example(self, max_batch=None, max_dim=None):
        return torch.rand(2, 4, 10) + 0.1, torch.tensor([10, 7])

    def forward_for_export(self, features, length):
        encoded = torch.relu(self.conv(features))
        return (encoded if bool(features.sum() > 0) else encoded + 1.0), length


def test_check_trace_verifies_onnx_on_given_examples(tmp_path):
    path = tmp_path / "encoder.onnx"
    inputs = [
        (torch.randn(1, 4, 5), torch.tensor([5])),
        (torch.randn(4, 4, 9), torch.tensor([9] * 4)),
        (torch.randn(2, 4, 7), torch.tensor([7, 3])),
    ]
    examples = [
        inputs[0],
        (inputs[1][0], {"length": inputs[1][1]}),
        {"length": inputs[2][1], "features": inputs[2][0]},  # keywords in any order
    ]
    module = TinyEncoder()
    module.export(str(path), check_trace=examples)

    # What the check accepted is true: onnxruntime gives torch's outputs on every example.
    for features, length in inputs:
        encoded, encoded_len = run_onnx(path, features=features, length=length)
        with torch.no_grad(), typecheck.disable_checks():
            expected, _ = module(features, length)
        assert torch.allclose(torch.from_numpy(encoded), expected, atol=1e-5)
        assert encoded_len.tolist() == length.tolist()


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_check_trace_catches_an_export_that_diverges_on_a_given_example(tmp_path):
    path = tmp_path / "branchy.onnx"
    positive = (torch.rand(1, 4, 6) + 0.1, torch.tensor([6]))
    negative = (-torch.rand(3, 4, 8) - 0.1, torch.tensor([8, 8, 8]))
    module = SignDependent()

    module.export(str(path), check_trace=[positive])  # the traced branch: no difference to find
    with pytest.raises(
        ValueError, match=r"branchy.onnx' disagrees with PyTorch on output 'encoded'"
    ) as error:
        module.export(str(path), check_trace=[positive, negative])
    assert "tolerance 0.01" in str(error.value)
    # The file really differs from torch there: onnxruntime kept the positive branch.
    encoded, _ = run_onnx(path, features=negative[0], length=negative[1])
    with torch.no_grad():
        expected, _ = module.forward_for_export(*negative)
    assert not torch.allclose(torch.from_numpy(encoded), expected, atol=0.01)
    assert is_typecheck_enabled() and "forward" not in vars(module)


def test_explicit_input_example_and_dynamic_axes(tmp_path):
    path = tmp_path / "encoder.onnx"
    example = (torch.randn(1, 4, 6), {"length": torch.tensor([6])})
    TinyEncoder().export(str(path), input_example=example, dynamic_axes={"features": {2: "time"}})
    dims = [
        dim.dim_param or dim.dim_value
        for dim in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    ]
    assert dims == [1, 4, "time"]


def test_disabled_deployment_names_are_left_out(tmp_path):
    class NoLengths(TinyEncoder):
        @property
        def disabled_deployment_output_names(self):
            return {"encoded_len"}

        def forward_for_export(self, features, length):
            return torch.relu(self.conv(features))

    path = tmp_path / "encoder.onnx"
    module = NoLengths()
    assert module.output_names == ["encoded"] and module.input_names == ["features", "length"]
    module.export(str(path))
    assert [node.name for node in onnx.load(str(path)).graph.output] == ["encoded"]
    assert "forward_for_export" not in vars(module)
    assert len(run_onnx(path, features=torch.randn(2, 4, 10))) == 1


def test_missing_input_example_is_reported(tmp_path):
    class NoExample(TinyEncoder):
        def input_example(self, max_batch=None, max_dim=None):
            return None

    with pytest.raises(ValueError, match=r"NoExample.export\(.*needs an input example"):
        NoExample().export(str(tmp_path / "encoder.onnx"))
    assert is_typecheck_enabled()


def test_unsupported_format_is_rejected(tmp_path):
    class OnnxOnly(TinyEncoder):
        @property
        def supported_export_formats(self):
            return {ExportFormat.ONNX}

    with pytest.raises(ValueError, match=r"can't be exported to TORCHSCRIPT.*\['ONNX'\]"):
        OnnxOnly().export(str(tmp_path / "encoder.ts"))


def test_export_subnets_get_their_own_files(tmp_path):
    class Pipeline(NeuralModule, Exportable):
        def __init__(self):
            super().__init__()
            self.encoder = TinyEncoder()

        def list_export_subnets(self):
            return ["encoder"]

    written, _ = Pipeline().export(str(tmp_path / "model.onnx"))
    assert written == [str(tmp_path / "encoder-model.onnx")]
    assert (tmp_path / "encoder-model.onnx").is_file()


def test_export_config():
    module = TinyEncoder()
    assert module.get_export_config() == {}
    module.set_export_config({"cache_support": "true"})
    assert module.get_export_config() == {"cache_support": "true"}
    assert module.input_module is module and module.output_module is module
    assert module.get_export_subnet() is module and module.list_export_subnets() == ["self"]


def test_every_export_subnet_is_exported_with_the_same_settings(tmp_path):
    class TwoEncoders(NeuralModule, Exportable):
        def __init__(self):
            super().__init__()
            self.first = TinyEncoder()
            self.second = TinyEncoder()

        def list_export_subnets(self):
            return ["first", "second"]

    pipeline = TwoEncoders()
    written, descriptions = pipeline.export(str(tmp_path / "model.ts"), check_trace=True)
    assert written == [str(tmp_path / "first-model.ts"), str(tmp_path / "second-model.ts")]
    assert all("exported to ExportFormat.TORCHSCRIPT" in description for description in descriptions)
    for encoder in (pipeline.first, pipeline.second):
        # onnx_opset_version=None reaches _prepare_for_export as NeMo's default opset, 17.
        assert encoder.events[0] == ("prepare", 17) and encoder.events[-1] == ("teardown", None)
        assert [event for event in encoder.events if event[0] == "prepare"] == [("prepare", 17)]
