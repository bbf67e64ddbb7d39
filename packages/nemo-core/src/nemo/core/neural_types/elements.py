"""What the elements of a tensor mean: ``ElementType`` and NeMo's 42 element types.

Compatibility follows the class hierarchy: a port typed ``ChannelType`` accepts an
``AcousticEncodedRepresentation`` (a subclass), not the other way round. Parametrised types
(``AudioSignal(freq)``, ``VideoSignal(fps)``) also need equal parameters; ``None`` matches any value.
"""

from __future__ import annotations

import sys
from typing import Any

from nemo.core.neural_types.comparison import NeuralTypeComparisonResult

__all__ = [
    "ElementType",
    "VoidType",
    "BoolType",
    "ChannelType",
    "AcousticEncodedRepresentation",
    "AudioSignal",
    "VideoSignal",
    "SpectrogramType",
    "MelSpectrogramType",
    "MFCCSpectrogramType",
    "LogitsType",
    "LabelsType",
    "HypothesisType",
    "LossType",
    "RegressionValuesType",
    "CategoricalValuesType",
    "PredictionsType",
    "LogprobsType",
    "ProbsType",
    "LengthsType",
    "EmbeddedTextType",
    "EncodedRepresentation",
    "MaskType",
    "Target",
    "ClassificationTarget",
    "ImageFeatureValue",
    "Index",
    "ImageValue",
    "NormalizedImageValue",
    "StringLabel",
    "StringType",
    "TokenIndex",
    "Length",
    "IntType",
    "FloatType",
    "NormalDistributionSamplesType",
    "NormalDistributionMeanType",
    "NormalDistributionLogVarianceType",
    "TokenDurationType",
    "TokenLogDurationType",
    "LogDeterminantType",
    "SequenceToSequenceAlignmentType",
]

_SAME = NeuralTypeComparisonResult.SAME


# Methods of element types that only Python runs (comparison, printing): TorchScript must not compile them.
_PYTHON_ONLY_METHODS = ("__str__", "__repr__", "compare", "__init_subclass__")


def _hide_methods(cls: type) -> None:
    from torch._jit_internal import FunctionModifiers

    for name in _PYTHON_ONLY_METHODS:
        method = cls.__dict__.get(name)
        method = getattr(method, "__func__", method)  # the function inside a classmethod
        if method is not None:
            method._torchscript_modifier = FunctionModifiers._DROP


class ElementType:
    """Semantics of the values stored in a tensor. Subclass it to define a new element type.

    Two element types are compared by class (subclass = specialisation), then by ``type_parameters``
    and ``fields``.

    TorchScript: scripted code may build element types and test them with ``isinstance`` (NeMo's modules
    do). Their Python-only members are kept out of compilation: the properties through
    ``__jit_unused_properties__``, the methods through :func:`hide_python_methods_from_torchscript`, which
    runs once torch is imported (this module itself does not import torch).
    """

    __jit_unused_properties__ = ["type_parameters", "fields"]

    def __init__(self) -> None:
        pass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # TorchScript compiles only what a class defines itself: give every element type its own __init__.
        if "__init__" not in cls.__dict__:
            cls.__init__ = cls.__init__
        if "torch" in sys.modules:
            _hide_methods(cls)

    def __str__(self) -> str:
        return self.__doc__ or type(self).__name__

    def __repr__(self) -> str:
        return type(self).__name__

    @property
    def type_parameters(self) -> dict[str, Any]:
        """Parameters that must match for two instances of this type to be the same, e.g. ``{"freq": 16000}``.

        A parameter set to ``None`` on either side matches any value. Override to parametrise a type.
        """
        return {}

    @property
    def fields(self) -> tuple[str, ...] | None:
        """Names of the entries of the last axis when it holds a fixed record, e.g. ``("x", "y", "w", "h")``.

        ``None`` (the default) for no record structure; two types with different fields are incompatible.
        """
        return None

    def compare(self, second: ElementType) -> NeuralTypeComparisonResult:
        """Compare with ``second``: ``SAME``, ``LESS`` (self subclasses second), ``GREATER`` (second
        subclasses self), ``SAME_TYPE_INCOMPATIBLE_PARAMS`` or ``INCOMPATIBLE``."""
        first_class, second_class = type(self), type(second)
        if first_class is not second_class:
            if issubclass(first_class, second_class):
                return NeuralTypeComparisonResult.LESS
            if issubclass(second_class, first_class):
                return NeuralTypeComparisonResult.GREATER
            return NeuralTypeComparisonResult.INCOMPATIBLE
        mine, theirs = self.type_parameters, second.type_parameters
        if mine.keys() != theirs.keys():
            return NeuralTypeComparisonResult.SAME_TYPE_INCOMPATIBLE_PARAMS
        for key, value in mine.items():
            other = theirs[key]
            if value is not None and other is not None and value != other:
                return NeuralTypeComparisonResult.SAME_TYPE_INCOMPATIBLE_PARAMS
        return _SAME if self.fields == second.fields else NeuralTypeComparisonResult.INCOMPATIBLE


class VoidType(ElementType):
    """Any element at all: compatible with every element type. Use it only where a port is generic."""

    def compare(self, second: ElementType) -> NeuralTypeComparisonResult:
        """Always ``SAME``."""
        return _SAME


class ChannelType(ElementType):
    """A convolutional input/output channel."""


class EmbeddedTextType(ChannelType):
    """Output of a word/text embedding layer."""


class LogitsType(ElementType):
    """Logits."""


class ProbsType(ElementType):
    """Probabilities, e.g. the output of a softmax."""


class LogprobsType(ElementType):
    """Log-probabilities, e.g. the output of a log-softmax."""


class LabelsType(ElementType):
    """Labels of some sort; the base of more specific label types."""


class HypothesisType(LabelsType):
    """A decoded hypothesis, which may be processed further into a label."""


class LengthsType(ElementType):
    """Lengths of something, e.g. the number of valid frames of each batch item."""


class LossType(ElementType):
    """The output of a loss module."""


class EncodedRepresentation(ChannelType):
    """An encoded representation, e.g. an encoder's output."""


class AcousticEncodedRepresentation(EncodedRepresentation):
    """The encoded representation returned by an acoustic encoder."""


class AudioSignal(ElementType):
    """Audio samples.

    Args:
        freq: sampling rate in Hz. Two signals are the same only if their rates match; ``None`` matches
            any rate.
    """

    def __init__(self, freq: int | None = None) -> None:
        self._params: dict[str, Any] = {"freq": freq}

    @property
    def type_parameters(self) -> dict[str, Any]:
        """``{"freq": freq}``."""
        return self._params


class VideoSignal(ElementType):
    """Video frames.

    Args:
        fps: frames per second; ``None`` matches any rate.
    """

    def __init__(self, fps: int | None = None) -> None:
        self._params: dict[str, Any] = {"fps": fps}

    @property
    def type_parameters(self) -> dict[str, Any]:
        """``{"fps": fps}``."""
        return self._params


class SpectrogramType(ChannelType):
    """A generic spectrogram."""


class MelSpectrogramType(SpectrogramType):
    """A mel spectrogram."""


class MFCCSpectrogramType(SpectrogramType):
    """MFCC features."""


class PredictionsType(LabelsType):
    """Predictions returned by a model."""


class RegressionValuesType(PredictionsType):
    """Values predicted for a regression task."""


class CategoricalValuesType(PredictionsType):
    """Labels predicted for a categorical classification task."""


class MaskType(PredictionsType):
    """A boolean mask."""


class Index(ElementType):
    """The index of a sample."""


class Target(ElementType):
    """A target value."""


class ClassificationTarget(Target):
    """The target of a classification task: the identifier of the desired class."""


class ImageValue(ElementType):
    """The value of one image channel, e.g. the R of an RGB pixel."""


class NormalizedImageValue(ImageValue):
    """The value of one image channel normalised to [0, 1]."""


class ImageFeatureValue(ImageValue):
    """One value of an image feature map."""


class StringType(ElementType):
    """A string."""


class StringLabel(StringType):
    """A label given as a class name, e.g. "hamster"."""


class BoolType(ElementType):
    """A boolean."""


class IntType(ElementType):
    """An integer."""


class FloatType(ElementType):
    """A float."""


class TokenIndex(IntType):
    """The index of a token in a vocabulary."""


class Length(IntType):
    """A length, e.g. of a list."""


class ProbabilityDistributionSamplesType(ElementType):
    """Samples drawn from a probability distribution."""


class NormalDistributionSamplesType(ProbabilityDistributionSamplesType):
    """Samples drawn from a normal distribution."""


class SequenceToSequenceAlignmentType(ElementType):
    """A seq-to-seq attention alignment: encoder time steps mapped to decoder time steps."""


class NormalDistributionMeanType(ElementType):
    """The mean of a normal distribution."""


class NormalDistributionLogVarianceType(ElementType):
    """The log-variance of a normal distribution."""


class TokenDurationType(ElementType):
    """The duration of a token."""


class TokenLogDurationType(ElementType):
    """The log-duration of a token."""


class LogDeterminantType(ElementType):
    """A log-determinant, as used by flow models."""


def hide_python_methods_from_torchscript() -> None:
    """Mark the Python-only methods of every element type defined so far so that TorchScript drops them.

    Called by ``nemo.core.classes`` (which imports torch); element types defined after torch is imported
    are marked as they are created.
    """
    pending = [ElementType]
    while pending:
        cls = pending.pop()
        _hide_methods(cls)
        pending.extend(cls.__subclasses__())
