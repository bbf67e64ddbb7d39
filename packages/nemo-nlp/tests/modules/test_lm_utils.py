"""``get_lm_model`` / ``BertModule``: any transformers encoder, from a local path (real weights) or from an
architecture (random weights), never from the network."""

import os
import pickle
import subprocess
import sys

import pytest
import torch
import transformers
from nemo.collections.nlp.modules import BertEncoder, BertModule, get_lm_model, get_pretrained_lm_models_list
from omegaconf import OmegaConf

TINY_BERT = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}


def lm_cfg(**language_model):
    return OmegaConf.create(
        {"language_model": {"pretrained_model_name": None, "lm_checkpoint": None, **language_model}}
    )


def encode(model, input_ids):
    return model(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        token_type_ids=torch.zeros_like(input_ids),
    )


def test_a_local_path_gives_the_pretrained_weights(minilm_dir):
    model = get_lm_model(cfg=lm_cfg(pretrained_model_name=str(minilm_dir))).eval()
    reference = transformers.AutoModel.from_pretrained(minilm_dir).eval()
    input_ids = torch.tensor([[101, 7592, 2088, 102]])

    with torch.inference_mode():
        hidden = encode(model, input_ids)
        expected = reference(input_ids=input_ids).last_hidden_state

    assert isinstance(model, BertEncoder) and isinstance(model, BertModule)
    assert hidden.shape == (1, 4, 384)
    torch.testing.assert_close(hidden, expected)
    assert type(hidden.neural_type.elements_type).__name__ == "ChannelType"


def test_the_unused_pooler_is_frozen_and_kept_and_every_other_weight_gets_a_gradient(minilm_dir):
    """The encoders return hidden states, so the pooler never gets a gradient: frozen, DDP need not wait for it
    (plain `ddp` would stop at the first step), and its weights keep their Hugging Face keys."""
    for model in (
        get_lm_model(cfg=lm_cfg(pretrained_model_name=str(minilm_dir))),
        get_lm_model(config_dict={"model_type": "bert", "vocab_size": 30, **TINY_BERT}, cfg=lm_cfg()),
    ):
        assert {"pooler.dense.weight", "pooler.dense.bias"} <= set(model.state_dict())
        encode(model, torch.tensor([[1, 5, 7, 2]])).sum().backward()
        frozen = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
        assert frozen == {"pooler.dense.weight", "pooler.dense.bias"}
        without_gradient = {name for name, parameter in model.named_parameters() if parameter.grad is None}
        assert without_gradient == frozen


def test_a_pretrained_encoder_starts_in_training_mode_as_a_built_one_does(minilm_dir):
    # Lightning keeps each module's mode at fit start: an encoder left in eval mode trains without dropout.
    pretrained = get_lm_model(cfg=lm_cfg(pretrained_model_name=str(minilm_dir)))
    built = get_lm_model(config_dict={"model_type": "bert", **TINY_BERT}, cfg=lm_cfg())

    for model in (pretrained, built):
        assert all(module.training for module in model.modules())


def test_a_config_file_gives_that_architecture_with_random_weights(tmp_path):
    path = tmp_path / "encoder_config.json"
    transformers.BertConfig(vocab_size=50, **TINY_BERT).to_json_file(path)

    model = get_lm_model(config_file=str(path), cfg=lm_cfg(pretrained_model_name="bert-base-uncased"))

    assert isinstance(model, BertEncoder)
    assert model.config.hidden_size == 16 and model.config.vocab_size == 50
    assert encode(model, torch.tensor([[1, 2, 3]])).shape == (1, 3, 16)


def test_the_config_file_wins_over_the_config_dict(tmp_path):
    path = tmp_path / "encoder_config.json"
    transformers.BertConfig(vocab_size=50, **TINY_BERT).to_json_file(path)

    model = get_lm_model(
        config_dict={"model_type": "bert", "hidden_size": 8}, config_file=str(path), cfg=lm_cfg()
    )

    assert model.config.hidden_size == 16


def test_a_config_dict_without_model_type_takes_it_from_the_pretrained_name():
    model = get_lm_model(
        config_dict={"vocab_size": 40, **TINY_BERT}, cfg=lm_cfg(pretrained_model_name="bert-base-uncased")
    )

    assert isinstance(model, BertEncoder) and model.config.vocab_size == 40


def test_a_config_dict_with_no_way_to_know_its_type_asks_for_model_type():
    with pytest.raises(ValueError, match="no model_type.*Add model_type") as error:
        get_lm_model(config_dict=TINY_BERT, cfg=lm_cfg(pretrained_model_name="my-org/some-encoder"))
    assert "language_model.config" in str(error.value)


@pytest.mark.parametrize(
    ("config", "encoder_name"),
    [
        (
            transformers.DistilBertConfig(vocab_size=30, dim=16, n_layers=1, n_heads=2, hidden_dim=32),
            "DistilBertEncoder",
        ),
        (transformers.ElectraConfig(vocab_size=30, embedding_size=8, **TINY_BERT), "ElectraEncoder"),
        (transformers.RobertaConfig(vocab_size=30, **TINY_BERT), "RobertaEncoder"),
    ],
)
def test_any_auto_architecture_becomes_a_typed_encoder(config, encoder_name):
    model = get_lm_model(config_dict=config.to_dict(), cfg=lm_cfg())
    input_ids = torch.tensor([[3, 4, 5, 6]])

    hidden = encode(model, input_ids)  # DistilBERT has no token types: they are dropped

    assert type(model).__name__ == encoder_name and isinstance(model, BertModule)
    assert hidden.shape == (1, 4, 16)
    with torch.inference_mode():
        reference = transformers.AutoModel.from_config(config)
        reference.load_state_dict(model.state_dict())
        torch.testing.assert_close(encode(model.eval(), input_ids), reference.eval()(input_ids=input_ids)[0])


def test_an_encoder_of_any_architecture_unpickles_in_a_fresh_process():
    model = get_lm_model(
        config_dict=transformers.ElectraConfig(vocab_size=30, **TINY_BERT).to_dict(), cfg=lm_cfg()
    )
    code = (
        "import pickle, sys\n"
        "model = pickle.loads(sys.stdin.buffer.read())\n"
        "print(type(model).__module__, type(model).__name__)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(model), capture_output=True, check=False
    )

    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert result.stdout.decode().split() == [
        "nemo.collections.nlp.modules.common.huggingface.encoders",
        "ElectraEncoder",
    ]


def test_a_hub_id_with_nothing_local_and_no_config_names_it_and_what_to_pass(tmp_path):
    code = (
        "from omegaconf import OmegaConf\n"
        "from nemo.collections.nlp.modules import get_lm_model\n"
        "get_lm_model(cfg=OmegaConf.create({'language_model': {'pretrained_model_name': 'bert-base-uncased'}}))\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "OSError: language_model.pretrained_model_name 'bert-base-uncased' is not a local"
    )
    assert "language_model.config" in message and "local directory" in message


def test_lm_checkpoint_replaces_the_weights_and_strips_the_bert_prefix(tmp_path):
    source = get_lm_model(config_dict={"model_type": "bert", "vocab_size": 30, **TINY_BERT}, cfg=lm_cfg())
    checkpoint = tmp_path / "encoder.pt"
    torch.save(
        {"state_dict": {f"bert.{key}": value for key, value in source.state_dict().items()}}, checkpoint
    )

    model = get_lm_model(
        config_dict={"model_type": "bert", "vocab_size": 30, **TINY_BERT},
        cfg=lm_cfg(lm_checkpoint=str(checkpoint)),
    )

    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)


def test_a_checkpoint_missing_encoder_weights_is_an_error(tmp_path):
    checkpoint = tmp_path / "partial.pt"
    torch.save({"embeddings.word_embeddings.weight": torch.zeros(30, 16)}, checkpoint)

    with pytest.raises(KeyError, match="lacks"):
        get_lm_model(
            config_dict={"model_type": "bert", "vocab_size": 30, **TINY_BERT},
            cfg=lm_cfg(lm_checkpoint=str(checkpoint)),
        )


def test_a_missing_lm_checkpoint_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="lm_checkpoint"):
        get_lm_model(
            config_dict={"model_type": "bert", **TINY_BERT},
            cfg=lm_cfg(lm_checkpoint=str(tmp_path / "none.pt")),
        )


def test_the_pretrained_list_holds_nemos_names():
    names = get_pretrained_lm_models_list()

    assert {"bert-base-uncased", "roberta-base", "distilbert-base-uncased", "albert-base-v2"} <= set(names)
