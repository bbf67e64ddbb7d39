"""The heads: NeMo's ``MultiLayerPerceptron`` layout and state-dict keys, and what each head computes, checked
against the same computation written with plain torch operations."""

import pytest
import torch
from nemo.collections.common.losses import CrossEntropyLoss
from nemo.collections.common.parts import MultiLayerPerceptron
from nemo.collections.nlp.modules import BertPretrainingTokenClassifier, SequenceClassifier, TokenClassifier


def test_mlp_layers_alternate_linear_and_activation_with_nemos_keys():
    mlp = MultiLayerPerceptron(
        hidden_size=8, num_classes=3, num_layers=3, activation="tanh", log_softmax=False
    )

    assert list(mlp.state_dict()) == [f"layer{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]
    assert mlp.layers == 5 and mlp.last_linear_layer is mlp.layer4
    x = torch.randn(2, 8)
    expected = mlp.layer4(torch.tanh(mlp.layer2(torch.tanh(mlp.layer0(x)))))
    torch.testing.assert_close(mlp(x), expected)


def test_mlp_with_one_layer_is_one_linear_layer_then_log_softmax():
    mlp = MultiLayerPerceptron(hidden_size=4, num_classes=2, num_layers=1)

    assert list(mlp.state_dict()) == ["layer0.weight", "layer0.bias"]
    x = torch.randn(3, 4)
    torch.testing.assert_close(mlp(x), torch.log_softmax(x @ mlp.layer0.weight.T + mlp.layer0.bias, dim=-1))


def test_an_unknown_activation_is_an_error_naming_it():
    with pytest.raises(ValueError, match="'nope' is not a torch function"):
        MultiLayerPerceptron(hidden_size=4, num_classes=2, num_layers=2, activation="nope")


def test_sequence_classifier_reads_the_chosen_token_and_has_nemos_keys():
    torch.manual_seed(0)
    head = SequenceClassifier(
        hidden_size=6, num_classes=3, num_layers=2, log_softmax=False, idx_conditioned_on=1
    )
    hidden = torch.randn(2, 5, 6)

    logits = head(hidden_states=hidden)

    assert set(head.state_dict()) == {
        "mlp.layer0.weight",
        "mlp.layer0.bias",
        "mlp.layer2.weight",
        "mlp.layer2.bias",
    }
    mlp = head.mlp
    torch.testing.assert_close(logits, mlp.layer2(torch.relu(mlp.layer0(hidden[:, 1]))))
    assert type(logits.neural_type.elements_type).__name__ == "LogitsType"


def test_transformer_init_gives_zero_biases_and_small_normal_weights():
    torch.manual_seed(0)
    head = SequenceClassifier(hidden_size=256, num_classes=256, num_layers=1)

    assert torch.count_nonzero(head.mlp.layer0.bias) == 0
    assert abs(head.mlp.layer0.weight.std().item() - 0.02) < 0.002


def test_token_classifier_classifies_every_token():
    head = TokenClassifier(hidden_size=6, num_classes=4, num_layers=1, log_softmax=True, dropout=0.0)
    hidden = torch.randn(2, 5, 6)

    log_probs = head(hidden_states=hidden)

    assert log_probs.shape == (2, 5, 4)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(log_probs, torch.log_softmax(head.mlp.layer0(hidden), dim=-1))


def test_bert_pretraining_head_transforms_before_the_mlp():
    head = BertPretrainingTokenClassifier(hidden_size=6, num_classes=4, activation="gelu", log_softmax=False)
    hidden = torch.randn(2, 3, 6)

    expected = head.mlp.layer0(head.norm(torch.nn.functional.gelu(head.dense(hidden))))

    torch.testing.assert_close(head(hidden_states=hidden), expected)
    assert {"dense.weight", "norm.weight", "mlp.layer0.weight"} <= set(head.state_dict())


def test_cross_entropy_flattens_token_logits_and_applies_the_mask():
    logits = torch.randn(2, 3, 4, requires_grad=True)
    labels = torch.tensor([[0, 1, 2], [3, 0, 1]])
    mask = torch.tensor([[1, 1, 0], [0, 1, 1]])
    loss = CrossEntropyLoss(logits_ndim=3)

    value = loss(logits=logits, labels=labels, loss_mask=mask)

    keep = mask.bool()
    torch.testing.assert_close(value, torch.nn.functional.cross_entropy(logits[keep], labels[keep]))
    empty = loss(logits=logits, labels=labels, loss_mask=torch.zeros_like(mask))
    empty.backward()
    assert empty.item() == 0.0


def test_cross_entropy_class_weights():
    logits, labels = torch.randn(5, 3), torch.tensor([0, 1, 2, 2, 1])

    value = CrossEntropyLoss(weight=[1.0, 2.0, 0.5])(logits=logits, labels=labels)

    expected = torch.nn.functional.cross_entropy(logits, labels, weight=torch.tensor([1.0, 2.0, 0.5]))
    torch.testing.assert_close(value, expected)
