"""@typecheck() rules on flat (non-container) inputs and outputs."""

import copy
import pickle

import pytest
import torch
from nemo.core.classes.loss import Loss
from nemo.core.classes.module import NeuralModule
from nemo.core.classes.typecheck import Typing, typecheck
from nemo.core.neural_types import (
    AcousticEncodedRepresentation,
    AudioSignal,
    EncodedRepresentation,
    LengthsType,
    LogitsType,
    LossType,
    NeuralType,
)


class Encoder(NeuralModule):
    """(B, T) audio at 16 kHz and its lengths -> (B, D, T) encoding and lengths."""

    @property
    def input_types(self):
        return {
            "audio_signal": NeuralType(("B", "T"), AudioSignal(freq=16000)),
            "length": NeuralType(tuple("B"), LengthsType()),
            "scale": NeuralType(None, LogitsType(), optional=True),
        }

    @property
    def output_types(self):
        return {
            "encoded": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation()),
            "encoded_len": NeuralType(tuple("B"), LengthsType()),
        }

    @typecheck()
    def forward(self, audio_signal, length, scale=None):
        return audio_signal.unsqueeze(1).repeat(1, 4, 1), length


class Decoder(NeuralModule):
    @property
    def input_types(self):
        return {"encoder_output": NeuralType(("B", "D", "T"), EncodedRepresentation())}

    @property
    def output_types(self):
        return {"logits": NeuralType(("B", "T", "D"), LogitsType())}

    @typecheck()
    def forward(self, encoder_output):
        return encoder_output.transpose(1, 2)


def audio(batch=2, time=16):
    return torch.randn(batch, time), torch.full((batch,), time)


def test_outputs_carry_declared_types_in_order():
    encoder = Encoder()
    signal, length = audio()
    encoded, encoded_len = encoder(audio_signal=signal, length=length)
    assert encoded.neural_type.compare(encoder.output_types["encoded"]).name == "SAME"
    assert isinstance(encoded.neural_type.elements_type, AcousticEncodedRepresentation)
    assert isinstance(encoded_len.neural_type.elements_type, LengthsType)


def test_single_output_carries_its_type():
    signal, length = audio()
    encoded, _ = Encoder()(audio_signal=signal, length=length)
    logits = Decoder()(encoder_output=encoded)
    assert isinstance(logits.neural_type.elements_type, LogitsType)
    assert logits.shape == (2, 16, 4)


def test_specialised_input_type_is_accepted():
    signal, length = audio()
    encoded, _ = Encoder()(audio_signal=signal, length=length)
    assert isinstance(encoded.neural_type.elements_type, AcousticEncodedRepresentation)
    Decoder()(encoder_output=encoded)


def test_positional_arguments_are_rejected_naming_module_and_keywords():
    signal, length = audio()
    with pytest.raises(TypeError) as info:
        Encoder()(signal, length)
    message = str(info.value)
    assert "Encoder.forward" in message and "2 positional" in message
    assert "forward(audio_signal=..., length=..., scale=...)" in message


def test_unexpected_argument_is_named():
    signal, length = audio()
    with pytest.raises(TypeError, match=r"Encoder.forward got unexpected input argument\(s\) \['lengths'\]"):
        Encoder()(audio_signal=signal, lengths=length)


def test_missing_mandatory_argument_is_named():
    signal, _ = audio()
    with pytest.raises(
        TypeError, match=r"Encoder.forward is missing mandatory input argument\(s\) \['length'\]"
    ):
        Encoder()(audio_signal=signal)


def test_missing_mandatory_argument_is_caught_even_when_an_optional_one_fills_the_count():
    signal, _ = audio()
    with pytest.raises(TypeError, match=r"missing mandatory input argument\(s\) \['length'\]"):
        Encoder()(audio_signal=signal, scale=torch.tensor(2.0))


def test_optional_argument_may_be_given_or_omitted():
    signal, length = audio()
    Encoder()(audio_signal=signal, length=length, scale=torch.tensor(2.0))
    Encoder()(audio_signal=signal, length=length)


def test_input_rank_mismatch_names_argument_module_and_shape():
    _, length = audio()
    with pytest.raises(TypeError) as info:
        Encoder()(audio_signal=torch.zeros(2, 1, 16), length=length)
    message = str(info.value)
    assert "Encoder.forward" in message and "input 'audio_signal'" in message
    assert "(2, 1, 16)" in message and "need 2" in message


def test_output_rank_mismatch_is_reported():
    class Broken(Decoder):
        @typecheck()
        def forward(self, encoder_output):
            return encoder_output

    encoded = torch.zeros(2, 4)
    with pytest.raises(TypeError, match="input 'encoder_output' has 2 dimension"):
        Broken()(encoder_output=encoded)

    class BrokenOutput(Decoder):
        @typecheck()
        def forward(self, encoder_output):
            return encoder_output[0]

    with pytest.raises(TypeError, match="BrokenOutput.forward: output 'logits' has 2 dimension"):
        BrokenOutput()(encoder_output=torch.zeros(2, 4, 8))


def test_incompatible_neural_type_is_rejected_with_both_types():
    tagged = torch.zeros(2, 4, 8)
    tagged.neural_type = NeuralType(("B", "D", "T"), LogitsType())
    with pytest.raises(TypeError) as info:
        Decoder()(encoder_output=tagged)
    message = str(info.value)
    assert "Decoder.forward" in message and "'encoder_output'" in message
    assert "INCOMPATIBLE" in message and "EncodedRepresentation" in message and "LogitsType" in message


def test_more_general_neural_type_is_rejected():
    signal, length = audio()
    encoded, _ = Encoder()(audio_signal=signal, length=length)

    class StrictDecoder(Decoder):
        @property
        def input_types(self):
            return {"encoder_output": NeuralType(("B", "D", "T"), AcousticEncodedRepresentation())}

    general = torch.zeros(2, 4, 8)
    general.neural_type = NeuralType(("B", "D", "T"), EncodedRepresentation())
    StrictDecoder()(encoder_output=encoded)
    with pytest.raises(TypeError, match="LESS"):
        StrictDecoder()(encoder_output=general)


def test_sampling_rate_mismatch_is_rejected_naming_both_rates():
    signal, length = audio()
    signal.neural_type = NeuralType(("B", "T"), AudioSignal(freq=8000))
    with pytest.raises(TypeError) as info:
        Encoder()(audio_signal=signal, length=length)
    message = str(info.value)
    assert "SAME_TYPE_INCOMPATIBLE_PARAMS" in message and "freq=16000" in message and "freq=8000" in message


def test_transposed_input_is_rejected():
    transposed = torch.zeros(2, 8, 4)
    transposed.neural_type = NeuralType(("B", "T", "D"), EncodedRepresentation())
    with pytest.raises(TypeError, match="TRANSPOSE_SAME"):
        Decoder()(encoder_output=transposed)


def test_non_tensor_values_skip_rank_checks():
    signal, length = audio()
    encoded, _ = Encoder()(audio_signal=signal, length=length, scale=2.0)
    assert encoded.shape == (2, 4, 16)


def test_function_level_overrides_replace_the_instance_declarations():
    class Overridden(Encoder):
        @typecheck(
            input_types={"x": NeuralType(("B", "T", "D"), LogitsType())},
            output_types={"loss": NeuralType(None, LossType())},
        )
        def score(self, x):
            return x.mean()

    loss = Overridden().score(x=torch.zeros(2, 3, 4))
    assert isinstance(loss.neural_type.elements_type, LossType)
    with pytest.raises(TypeError, match="Overridden.score: input 'x' has 2 dimension"):
        Overridden().score(x=torch.zeros(2, 3))


def test_override_with_none_turns_input_checks_off():
    class NoInputChecks(Decoder):
        @typecheck(input_types=None)
        def forward(self, encoder_output):
            return encoder_output.transpose(1, 2)

    logits = NoInputChecks()(torch.zeros(2, 4, 8))
    assert isinstance(logits.neural_type.elements_type, LogitsType)


def test_untyped_class_passes_calls_through():
    class Untyped(NeuralModule):
        @typecheck()
        def forward(self, x):
            return x * 2

    result = Untyped()(torch.ones(3))
    assert torch.equal(result, torch.full((3,), 2.0))
    assert not hasattr(result, "neural_type")


def test_decorator_needs_a_typing_instance():
    class NotTyped:
        @typecheck()
        def forward(self, x):
            return x

    with pytest.raises(RuntimeError, match="only methods of classes that inherit nemo.core.classes.Typing"):
        NotTyped().forward(x=1)


def test_legacy_port_properties_are_rejected():
    class Legacy(Decoder):
        @property
        def input_ports(self):
            return {}

    with pytest.raises(RuntimeError, match="input_ports/output_ports"):
        Legacy()(encoder_output=torch.zeros(2, 4, 8))


def test_wrong_number_of_outputs_is_reported():
    class TooMany(Decoder):
        @typecheck()
        def forward(self, encoder_output):
            return encoder_output, encoder_output

    with pytest.raises(
        TypeError, match=r"TooMany.forward returned 2 output\(s\), but output_types declares 1"
    ):
        TooMany()(encoder_output=torch.zeros(2, 4, 8))

    class TooFew(Encoder):
        @typecheck()
        def forward(self, audio_signal, length, scale=None):
            return audio_signal

    signal, length = audio()
    with pytest.raises(TypeError, match=r"returned 1 output\(s\).*2 mandatory"):
        TooFew()(audio_signal=signal, length=length)


def test_optional_output_may_be_left_out():
    class MaybeLengths(Decoder):
        @property
        def output_types(self):
            return {
                "logits": NeuralType(("B", "T", "D"), LogitsType()),
                "lengths": NeuralType(tuple("B"), LengthsType(), optional=True),
            }

    logits = MaybeLengths()(encoder_output=torch.zeros(2, 4, 8))
    assert isinstance(logits.neural_type.elements_type, LogitsType)


def test_outputs_that_take_no_attributes_are_left_untyped():
    class CountingDecoder(Decoder):
        @property
        def output_types(self):
            return {
                "logits": NeuralType(("B", "T", "D"), LogitsType()),
                "count": NeuralType(None, LengthsType()),
            }

        @typecheck()
        def forward(self, encoder_output):
            return encoder_output.transpose(1, 2), 3

    logits, count = CountingDecoder()(encoder_output=torch.zeros(2, 4, 8))
    assert count == 3 and isinstance(logits.neural_type.elements_type, LogitsType)


def test_declarations_are_read_once_per_instance_until_the_cache_is_cleared():
    class Counting(Decoder):
        reads = 0

        @property
        def input_types(self):
            type(self).reads += 1
            return super().input_types

    module = Counting()
    for _ in range(3):
        module(encoder_output=torch.zeros(2, 4, 8))
    assert Counting.reads == 1
    Counting()(encoder_output=torch.zeros(2, 4, 8))
    assert Counting.reads == 2
    typecheck.clear_type_cache()
    module(encoder_output=torch.zeros(2, 4, 8))
    assert Counting.reads == 3


def test_changed_input_declaration_is_reread_when_a_check_fails():
    class Switchable(Decoder):
        rank = 3

        @property
        def input_types(self):
            return {"encoder_output": NeuralType(("B", "D", "T")[: self.rank], EncodedRepresentation())}

        @typecheck()
        def forward(self, encoder_output):
            return encoder_output

    module = Switchable()
    with pytest.raises(TypeError):
        module(encoder_output=torch.zeros(2, 4))
    module.rank = 2
    with pytest.raises(TypeError, match="output 'logits' has 2 dimension"):
        module(encoder_output=torch.zeros(2, 4))


def test_copied_and_unpickled_modules_check_the_same_way():
    module = Decoder()
    module(encoder_output=torch.zeros(2, 4, 8))
    for clone in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert isinstance(clone(encoder_output=torch.zeros(2, 4, 8)).neural_type.elements_type, LogitsType)
        with pytest.raises(TypeError, match="dimension"):
            clone(encoder_output=torch.zeros(2, 4))


def test_loss_modules_are_typed():
    class MeanLoss(Loss):
        @property
        def input_types(self):
            return {"logits": NeuralType(("B", "T", "D"), LogitsType())}

        @property
        def output_types(self):
            return {"loss": NeuralType(elements_type=LossType())}

        @typecheck()
        def forward(self, logits):
            return logits.mean()

    loss_fn = MeanLoss(reduction="sum")
    assert isinstance(loss_fn, Typing) and loss_fn.reduction == "sum"
    loss = loss_fn(logits=torch.ones(2, 3, 4))
    assert loss.item() == 1.0 and isinstance(loss.neural_type.elements_type, LossType)


def test_validate_and_attach_can_be_called_directly():
    module = Decoder()
    declared = module.input_types
    module._validate_input_types(input_types=declared, encoder_output=torch.zeros(2, 4, 8))
    with pytest.raises(TypeError, match="Decoder: input 'encoder_output'"):
        module._validate_input_types(input_types=declared, encoder_output=torch.zeros(2, 4))
    module._validate_input_types(input_types=None, anything=1)
    output = torch.zeros(2, 8, 4)
    module._attach_and_validate_output_types(output, output_types=module.output_types)
    assert isinstance(output.neural_type.elements_type, LogitsType)


def test_changed_declarations_never_cause_spurious_errors():
    class Fusable(Decoder):
        fused = False

        @property
        def output_types(self):
            if self.fused:
                return {"loss": NeuralType(None, LossType()), "count": NeuralType(None, LengthsType())}
            return super().output_types

        @typecheck()
        def forward(self, encoder_output):
            if self.fused:
                return encoder_output.sum(), torch.tensor(encoder_output.shape[0])
            return encoder_output.transpose(1, 2)

    module = Fusable()
    module(encoder_output=torch.zeros(2, 4, 8))
    module.fused = True
    loss, count = module(encoder_output=torch.zeros(2, 4, 8))
    assert isinstance(loss.neural_type.elements_type, LossType)
    assert isinstance(count.neural_type.elements_type, LengthsType)


def test_nemo_import_path_gives_the_decorator():
    from nemo.core.classes import typecheck as public

    assert public is typecheck
