"""Audio front ends: ``features.FilterbankFeatures`` (log-mel filterbanks), ``segment.AudioSegment``
(audio loading) and the ``perturb`` augmentations, re-exported here under NeMo's names."""

from nemo.utils.lazy_exports import lazy_exports

_PERTURB = (
    "AudioAugmentor GainPerturbation ImpulsePerturbation NoisePerturbation Perturbation ShiftPerturbation "
    "SilencePerturbation SpeedPerturbation TimeStretchPerturbation "
    "WhiteNoisePerturbation perturbation_types process_augmentations register_perturbation"
).split()

_EXPORTS = {
    **{name: f"nemo.collections.asr.parts.preprocessing.perturb:{name}" for name in _PERTURB},
    "AudioSegment": "nemo.collections.asr.parts.preprocessing.segment:AudioSegment",
    "ExternalFeatureLoader": "nemo.collections.asr.parts.preprocessing.feature_loader:ExternalFeatureLoader",
    "FilterbankFeatures": "nemo.collections.asr.parts.preprocessing.features:FilterbankFeatures",
    "WaveformFeaturizer": "nemo.collections.asr.parts.preprocessing.waveform_featurizer:WaveformFeaturizer",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
