"""``CropOrPadSpectrogramAugmentation`` against NeMo 1.23's outputs (``data/make_nemo_expected.py``)."""

import pytest
import torch
from nemo.collections.asr.modules import CropOrPadSpectrogramAugmentation


def test_crop_matches_nemo_random_offsets_in_eval_mode(nemo_expected):
    module = CropOrPadSpectrogramAugmentation(audio_length=6).eval()
    torch.manual_seed(1234)
    cropped, lengths = module(input_signal=nemo_expected["crop_input"], length=torch.tensor([10, 7]))
    torch.testing.assert_close(cropped, nemo_expected["crop_6"], atol=0, rtol=0)
    assert lengths.tolist() == nemo_expected["crop_6_len"].tolist() == [6, 6]


def test_pad_matches_nemo_with_the_odd_frame_on_the_right(nemo_expected):
    module = CropOrPadSpectrogramAugmentation(audio_length=13)
    padded, lengths = module(input_signal=nemo_expected["crop_input"], length=torch.tensor([10, 7]))
    torch.testing.assert_close(padded, nemo_expected["pad_13"], atol=0, rtol=0)
    assert padded[:, :, :1].abs().sum() == 0 and padded[:, :, -2:].abs().sum() == 0
    assert lengths.tolist() == nemo_expected["pad_13_len"].tolist() == [13, 13]


def test_negative_audio_length_names_the_config_key():
    with pytest.raises(ValueError, match="crop_or_pad_augment.audio_length"):
        CropOrPadSpectrogramAugmentation(audio_length=-1)
