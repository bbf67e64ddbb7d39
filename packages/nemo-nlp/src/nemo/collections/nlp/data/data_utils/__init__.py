"""Data helpers shared by the NLP datasets (NeMo's ``nemo.collections.nlp.data.data_utils``)."""

from nemo.utils.lazy_exports import lazy_exports

_EXPORTS = {
    name: "nemo.collections.nlp.data.data_utils.data_preprocessing"
    for name in (
        "fill_class_weights",
        "get_freq_weights",
        "get_label_stats",
        "get_labels_to_labels_id_mapping",
        "get_stats",
    )
}
_EXPORTS.update(
    {
        name: "nemo.collections.nlp.data.data_utils.answer_text"
        for name in (
            "check_chinese_char",
            "chinese_punctuation",
            "is_whitespace",
            "normalize_answer",
            "normalize_chinese_answer",
        )
    }
)

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
