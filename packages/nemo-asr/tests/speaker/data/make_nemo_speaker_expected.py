"""Make ``speaker_expected.pt`` and ``activated_8k.wav`` with real NeMo 1.23 (this script imports NeMo).

What NeMo computes, saved as plain tensors (load with ``torch.load(..., weights_only=True)``):

- ``files``: real audio files, relative to the repository root (the Asterisk voice and flite voices);
  ``emb/<i>`` = ``EncDecSpeakerLabelModel.get_embedding(files[i])`` of NeMo's ``titanet_small_tiny.nemo``
  (the shared fixture, beside this script), ``logits/<i>`` the matching logits (``infer_file``);
  ``verify/<i>/<j>/<threshold>`` = ``verify_speakers(files[i], files[j], threshold)`` as 0/1, and
  ``score/<i>/<j>`` the threshold at which NeMo's decision flips (its similarity score, by bisection on
  ``verify_speakers``, to within 1e-9);
  ``label/<i>`` = ``get_label(files[i])`` (the label id: the fixture holds no labels).
- ``activated_8k.wav`` (written here): the Asterisk prompt ``activated`` resampled to 8 kHz (librosa),
  16-bit PCM; ``emb_8k`` = ``get_embedding`` of it (NeMo resamples it to 16 kHz with librosa).
- ``angular/<case>``: ``AngularSoftmaxLoss(scale, margin)(logits=..., labels=...)`` for seeded logits in
  [-1, 1]; the inputs are saved beside it.
- ``decoder/<pool_mode>/...``: a seeded ``SpeakerDecoder(feat_in=12, num_classes=5, emb_sizes=[10, 8],
  pool_mode)`` (``angular`` for ``attention``): its ``state/<key>``, the input ``x`` (3, 12, 20) and
  ``length``, ``logits``/``embs`` in ``eval()``, and after one ``train()`` forward of the same input the
  train-mode ``train_logits``/``train_embs`` and the new ``state_after_train/<key>`` (batch-norm statistics).
- ``ecapa/...``: a seeded ``ECAPAEncoder(feat_in=20, filters=[32, 32, 32, 64], kernel_sizes=[5, 3, 3, 1],
  dilations=[1, 2, 3, 1], scale=4)``: ``state/<key>``, input ``x`` (2, 20, 30), ``length``, ``outputs``.

Run with NeMo 1.23's Python, from a scratch folder::

    /tmp/nemo-ref/bin/python packages/nemo-asr/tests/speaker/data/make_nemo_speaker_expected.py
"""

from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[4]
SEED = 13
FILES = (
    "data/asterisk/audio/activated.opus",
    "data/asterisk/audio/vm-goodbye.opus",
    "data/synthetic/audio/0001_flite-kal16.opus",
    "data/synthetic/audio/0008_flite-kal16.opus",
    "data/synthetic/audio/0005_flite-slt.opus",
)
PAIRS = ((0, 1), (0, 2), (2, 3), (3, 4))
THRESHOLDS = (0.5, 0.7, 0.99, 1.0)
BISECTION_STEPS = 30


def fixture_model_outputs(out: dict) -> None:
    import librosa
    import soundfile as sf
    from nemo.collections.asr.models import EncDecSpeakerLabelModel

    model = EncDecSpeakerLabelModel.restore_from(str(HERE / "titanet_small_tiny.nemo"), map_location="cpu")
    model.eval()
    out["files"] = list(FILES)
    for index, name in enumerate(FILES):
        emb, logits = model.infer_file(str(REPO / name))
        out[f"emb/{index}"] = emb.clone()
        out[f"logits/{index}"] = logits.clone()
        out[f"label/{index}"] = int(model.get_label(str(REPO / name)))
    for first, second in PAIRS:
        paths = str(REPO / FILES[first]), str(REPO / FILES[second])
        for threshold in THRESHOLDS:
            out[f"verify/{first}/{second}/{threshold}"] = int(
                model.verify_speakers(*paths, threshold=threshold)
            )
        low, high = 0.0, 1.0 + 1e-6
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2
            low, high = (middle, high) if model.verify_speakers(*paths, threshold=middle) else (low, middle)
        out[f"score/{first}/{second}"] = torch.tensor(low, dtype=torch.float64)
    audio, rate = sf.read(str(REPO / FILES[0]))
    low = librosa.resample(audio, orig_sr=rate, target_sr=8000)
    sf.write(str(HERE / "activated_8k.wav"), low, 8000, subtype="PCM_16")
    out["emb_8k"] = model.get_embedding(str(HERE / "activated_8k.wav")).clone()


def angular_losses(out: dict) -> None:
    from nemo.collections.asr.losses.angularloss import AngularSoftmaxLoss

    generator = torch.Generator().manual_seed(SEED)
    logits = torch.rand(6, 5, generator=generator) * 2 - 1
    labels = torch.tensor([0, 4, 2, 2, 1, 3])
    out["angular/logits"], out["angular/labels"] = logits, labels
    for name, kwargs in (("default", {}), ("titanet", {"scale": 30, "margin": 0.2})):
        out[f"angular/{name}"] = AngularSoftmaxLoss(**kwargs)(logits=logits, labels=labels).detach().clone()


def decoders(out: dict) -> None:
    from nemo.collections.asr.modules import SpeakerDecoder

    for pool_mode in ("xvector", "tap", "attention"):
        torch.manual_seed(SEED)
        decoder = SpeakerDecoder(
            feat_in=12,
            num_classes=5,
            emb_sizes=[10, 8],
            pool_mode=pool_mode,
            angular=pool_mode == "attention",
            attention_channels=6,
        )
        with torch.no_grad():
            for module in decoder.modules():
                if isinstance(module, torch.nn.BatchNorm1d):
                    module.running_mean.uniform_(-0.5, 0.5)
                    module.running_var.uniform_(0.5, 2.0)
        x = torch.randn(3, 12, 20)
        length = torch.tensor([20, 13, 7])
        prefix = f"decoder/{pool_mode}"
        out.update({f"{prefix}/state/{k}": v.clone() for k, v in decoder.state_dict().items()})
        out[f"{prefix}/x"], out[f"{prefix}/length"] = x, length
        decoder.eval()
        with torch.no_grad():
            logits, embs = decoder(encoder_output=x, length=length)
        out[f"{prefix}/logits"], out[f"{prefix}/embs"] = logits, embs
        decoder.train()
        with torch.no_grad():
            logits, embs = decoder(encoder_output=x, length=length)
        out[f"{prefix}/train_logits"], out[f"{prefix}/train_embs"] = logits, embs
        out.update({f"{prefix}/state_after_train/{k}": v.clone() for k, v in decoder.state_dict().items()})


def ecapa(out: dict) -> None:
    from nemo.collections.asr.modules import ECAPAEncoder

    torch.manual_seed(SEED)
    encoder = ECAPAEncoder(
        feat_in=20, filters=[32, 32, 32, 64], kernel_sizes=[5, 3, 3, 1], dilations=[1, 2, 3, 1], scale=4
    )
    with torch.no_grad():
        for module in encoder.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    encoder.eval()
    x = torch.randn(2, 20, 30)
    length = torch.tensor([30, 17])
    with torch.no_grad():
        outputs, _ = encoder(audio_signal=x, length=length)
    out.update({f"ecapa/state/{k}": v.clone() for k, v in encoder.state_dict().items()})
    out["ecapa/x"], out["ecapa/length"], out["ecapa/outputs"] = x, length, outputs


def _bare(value):
    """A tensor without the ``neural_type`` attribute NeMo's typecheck attaches (so weights_only loads it)."""
    if isinstance(value, torch.Tensor):
        return value.detach().new_empty(value.shape).copy_(value.detach())
    return value


def main() -> None:
    out: dict = {}
    fixture_model_outputs(out)
    angular_losses(out)
    decoders(out)
    ecapa(out)
    torch.save({key: _bare(value) for key, value in out.items()}, HERE / "speaker_expected.pt")
    print("wrote", HERE / "speaker_expected.pt", "and", HERE / "activated_8k.wav")


if __name__ == "__main__":
    main()
