"""ASR data: manifests, audio-text datasets, tarred shards, bucketing and DataLoader builders.

``from nemo.collections.asr.data import audio_to_text`` works as in NeMo; names resolve on first use.
"""

from nemo.utils.lazy_exports import lazy_exports

_SUBMODULES = (
    "audio_loading",
    "audio_to_audio",
    "audio_to_audio_dataset",
    "audio_to_frame_label",
    "audio_to_label",
    "audio_to_label_dataset",
    "audio_to_text",
    "audio_to_text_dali",
    "audio_to_text_dataset",
    "bucketing",
    "collate",
    "feature_to_label",
    "feature_to_text",
    "manifest",
    "tarred_audio",
    "tarred_dataset_builder",
    "transcripts",
)
_EXPORTS = {
    **{name: f"{__name__}.{name}" for name in _SUBMODULES},
    "AudioToClassificationLabelDataset": f"{__name__}.audio_to_label",
    "AudioToMultiLabelDataset": f"{__name__}.audio_to_frame_label",
    "TarredAudioToMultiLabelDataset": f"{__name__}.audio_to_frame_label",
    "AudioToSpeechLabelDataset": f"{__name__}.audio_to_label",
    "TarredAudioToClassificationLabelDataset": f"{__name__}.audio_to_label",
    "TarredAudioToSpeechLabelDataset": f"{__name__}.audio_to_label",
    "AudioToCharDataset": f"{__name__}.audio_to_text",
    "AudioToBPEDataset": f"{__name__}.audio_to_text",
    "TarredAudioToCharDataset": f"{__name__}.audio_to_text",
    "TarredAudioToBPEDataset": f"{__name__}.audio_to_text",
    "get_audio_to_text_dataloader": f"{__name__}.audio_to_text_dataset",
    "DurationBucketingBatchSampler": f"{__name__}.bucketing",
    "convert_to_tarred_audio_dataset": f"{__name__}.tarred_dataset_builder",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
