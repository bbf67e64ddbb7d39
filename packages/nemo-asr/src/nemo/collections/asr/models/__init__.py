"""ASR models: ``nemo_asr.models.EncDecCTCModel.restore_from("model.nemo")``."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    "ASRModel": "nemo.collections.asr.models.asr_model",
    "EncDecClassificationModel": "nemo.collections.asr.models.classification_models",
    "EncDecCTCModel": "nemo.collections.asr.models.ctc_models",
    "EncDecCTCModelBPE": "nemo.collections.asr.models.ctc_bpe_models",
    "EncDecFrameClassificationModel": "nemo.collections.asr.models.frame_classification_models",
    "EncDecRegressionModel": "nemo.collections.asr.models.classification_models",
    "configs": "nemo.collections.asr.models.configs",
    "EncDecSpeakerLabelModel": "nemo.collections.asr.models.label_models",
    "EncDecRNNTModel": "nemo.collections.asr.models.rnnt_models",
    "EncDecRNNTBPEModel": "nemo.collections.asr.models.rnnt_bpe_models",
    "EncDecHybridRNNTCTCModel": "nemo.collections.asr.models.hybrid_rnnt_ctc_models",
    "EncDecHybridRNNTCTCBPEModel": "nemo.collections.asr.models.hybrid_rnnt_ctc_bpe_models",
    "ConfidenceEnsembleModel": "nemo.collections.asr.models.confidence_ensemble",
    "EncDecMultiTaskModel": "nemo.collections.asr.models.aed_multitask_models",
    "SpeechEncDecSelfSupervisedModel": "nemo.collections.asr.models.ssl_models",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
