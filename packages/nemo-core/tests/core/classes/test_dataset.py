import dataclasses

import pytest
import torch
from nemo.core.classes.dataset import Dataset, DatasetConfig, IterableDataset
from nemo.core.classes.serialization import Serialization
from nemo.core.classes.typecheck import Typing, typecheck
from nemo.core.neural_types import AudioSignal, LabelsType, NeuralType
from omegaconf import OmegaConf
from torch.utils.data import DataLoader

OUTPUT_TYPES = {
    "audio": NeuralType(("B", "T"), AudioSignal(freq=16000)),
    "label": NeuralType(tuple("B"), LabelsType()),
}


class Tones(Dataset):
    """Item i: 8 samples of value i, labelled i % 2."""

    def __len__(self):
        return 6

    def __getitem__(self, index):
        return torch.full((8,), float(index)), torch.tensor(index % 2)

    @property
    def output_types(self):
        return OUTPUT_TYPES


class StreamedTones(IterableDataset):
    def __iter__(self):
        for index in range(5):
            yield torch.full((8,), float(index)), torch.tensor(index % 2)

    @property
    def output_types(self):
        return OUTPUT_TYPES


@pytest.mark.parametrize("dataset", [Tones(), StreamedTones()], ids=["map", "iterable"])
def test_collate_fn_batches_and_attaches_output_types(dataset):
    assert isinstance(dataset, (Typing, Serialization))
    batches = list(DataLoader(dataset, batch_size=4, collate_fn=dataset.collate_fn))
    audio, label = batches[0]
    assert audio.shape == (4, 8) and label.tolist() == [0, 1, 0, 1]
    assert audio.neural_type is OUTPUT_TYPES["audio"] and label.neural_type is OUTPUT_TYPES["label"]
    assert batches[-1][0].neural_type is OUTPUT_TYPES["audio"]


def test_batches_that_do_not_match_output_types_are_rejected():
    class Wrong(Tones):
        def __getitem__(self, index):
            return torch.zeros(2, 8), torch.tensor(0)

    with pytest.raises(TypeError, match="Wrong.collate_fn: output 'audio' has 3 dimension"):
        next(iter(DataLoader(Wrong(), batch_size=2, collate_fn=Wrong().collate_fn)))


def test_custom_collation_overrides_underscore_collate_fn():
    class Padded(Tones):
        def __getitem__(self, index):
            return torch.ones(index + 1), torch.tensor(index % 2)

        def _collate_fn(self, batch):
            audio = torch.nn.utils.rnn.pad_sequence([item[0] for item in batch], batch_first=True)
            return audio, torch.stack([item[1] for item in batch])

    audio, _ = Padded().collate_fn([Padded()[0], Padded()[2]])
    assert audio.tolist() == [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    assert audio.neural_type is OUTPUT_TYPES["audio"]


def test_datasets_must_not_declare_input_types():
    class WithInputs(Tones):
        @property
        def input_types(self):
            return {"index": NeuralType(tuple("B"), LabelsType())}

    with typecheck.disable_checks(), pytest.raises(TypeError, match="WithInputs defines input_types"):
        WithInputs().collate_fn([WithInputs()[0]])


def test_untyped_batches_when_checks_are_off():
    with typecheck.disable_checks():
        audio, _ = Tones().collate_fn([Tones()[0], Tones()[1]])
    assert not hasattr(audio, "neural_type")


def test_dataset_config_defaults_and_structured_use():
    assert dataclasses.asdict(DatasetConfig()) == {
        "batch_size": 32,
        "drop_last": False,
        "shuffle": False,
        "num_workers": 0,
        "pin_memory": True,
    }
    config = OmegaConf.structured(DatasetConfig(batch_size=4))
    config.num_workers = None
    assert config.batch_size == 4 and config.num_workers is None
