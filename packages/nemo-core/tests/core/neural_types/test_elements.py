import pytest
from nemo.core.neural_types import elements
from nemo.core.neural_types.comparison import NeuralTypeComparisonResult as R
from nemo.core.neural_types.elements import (
    AcousticEncodedRepresentation,
    AudioSignal,
    ChannelType,
    ElementType,
    EncodedRepresentation,
    LogitsType,
    MelSpectrogramType,
    SpectrogramType,
    VideoSignal,
    VoidType,
)

# NeMo 1.23's nemo/core/neural_types/elements.py: every public element type and its direct parent.
NEMO_1_23_PARENTS = {
    "ElementType": "object",
    "VoidType": "ElementType",
    "BoolType": "ElementType",
    "ChannelType": "ElementType",
    "AcousticEncodedRepresentation": "EncodedRepresentation",
    "AudioSignal": "ElementType",
    "VideoSignal": "ElementType",
    "SpectrogramType": "ChannelType",
    "MelSpectrogramType": "SpectrogramType",
    "MFCCSpectrogramType": "SpectrogramType",
    "LogitsType": "ElementType",
    "LabelsType": "ElementType",
    "HypothesisType": "LabelsType",
    "LossType": "ElementType",
    "RegressionValuesType": "PredictionsType",
    "CategoricalValuesType": "PredictionsType",
    "PredictionsType": "LabelsType",
    "LogprobsType": "ElementType",
    "ProbsType": "ElementType",
    "LengthsType": "ElementType",
    "EmbeddedTextType": "ChannelType",
    "EncodedRepresentation": "ChannelType",
    "MaskType": "PredictionsType",
    "Target": "ElementType",
    "ClassificationTarget": "Target",
    "ImageFeatureValue": "ImageValue",
    "Index": "ElementType",
    "ImageValue": "ElementType",
    "NormalizedImageValue": "ImageValue",
    "StringLabel": "StringType",
    "StringType": "ElementType",
    "TokenIndex": "IntType",
    "Length": "IntType",
    "IntType": "ElementType",
    "FloatType": "ElementType",
    "NormalDistributionSamplesType": "ProbabilityDistributionSamplesType",
    "NormalDistributionMeanType": "ElementType",
    "NormalDistributionLogVarianceType": "ElementType",
    "TokenDurationType": "ElementType",
    "TokenLogDurationType": "ElementType",
    "LogDeterminantType": "ElementType",
    "SequenceToSequenceAlignmentType": "ElementType",
}


def test_exports_nemos_42_element_types():
    assert len(elements.__all__) == 42
    assert set(elements.__all__) == set(NEMO_1_23_PARENTS)


@pytest.mark.parametrize(("name", "parent"), sorted(NEMO_1_23_PARENTS.items()))
def test_hierarchy_matches_nemo(name, parent):
    cls = getattr(elements, name)
    assert cls.__bases__[0].__name__ == parent
    assert len(cls.__bases__) == 1
    assert issubclass(cls, ElementType)


def test_every_element_type_is_reexported_by_the_package():
    import nemo.core.neural_types as package

    for name in elements.__all__:
        assert getattr(package, name) is getattr(elements, name)


def test_class_relations_give_same_less_greater_incompatible():
    acoustic, channel = AcousticEncodedRepresentation(), ChannelType()
    assert channel.compare(ChannelType()) is R.SAME
    assert acoustic.compare(channel) is R.LESS
    assert channel.compare(acoustic) is R.GREATER
    assert LogitsType().compare(channel) is R.INCOMPATIBLE
    assert MelSpectrogramType().compare(EncodedRepresentation()) is R.INCOMPATIBLE


def test_parameters_must_match_and_none_matches_any():
    assert AudioSignal(16000).compare(AudioSignal(16000)) is R.SAME
    assert AudioSignal(16000).compare(AudioSignal(8000)) is R.SAME_TYPE_INCOMPATIBLE_PARAMS
    assert AudioSignal().compare(AudioSignal(8000)) is R.SAME
    assert AudioSignal(8000).compare(AudioSignal()) is R.SAME
    assert VideoSignal(fps=25).compare(VideoSignal(fps=30)) is R.SAME_TYPE_INCOMPATIBLE_PARAMS
    assert AudioSignal(8000).type_parameters == {"freq": 8000}
    assert VideoSignal(fps=25).type_parameters == {"fps": 25}


def test_fields_must_match():
    class Box(ElementType):
        def __init__(self, fields):
            self._fields = fields

        @property
        def fields(self):
            return self._fields

    assert Box(("x", "y")).compare(Box(("x", "y"))) is R.SAME
    assert Box(("x", "y")).compare(Box(("w", "h"))) is R.INCOMPATIBLE


def test_parameter_names_must_match():
    class Tagged(ElementType):
        def __init__(self, **params):
            self._params = params

        @property
        def type_parameters(self):
            return self._params

    assert Tagged(a=1).compare(Tagged(b=1)) is R.SAME_TYPE_INCOMPATIBLE_PARAMS


def test_void_type_is_same_as_everything():
    for name in elements.__all__:
        cls = getattr(elements, name)
        assert VoidType().compare(cls()) is R.SAME


def test_defaults_and_text():
    spectrogram = SpectrogramType()
    assert spectrogram.type_parameters == {}
    assert spectrogram.fields is None
    assert repr(spectrogram) == "SpectrogramType"
    assert str(spectrogram) == SpectrogramType.__doc__
