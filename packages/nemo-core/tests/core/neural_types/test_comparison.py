from nemo.core.neural_types.comparison import NeuralTypeComparisonResult


def test_nine_results_with_nemo_numbering():
    assert {result.name: result.value for result in NeuralTypeComparisonResult} == {
        "SAME": 0,
        "LESS": 1,
        "GREATER": 2,
        "DIM_INCOMPATIBLE": 3,
        "TRANSPOSE_SAME": 4,
        "CONTAINER_SIZE_MISMATCH": 5,
        "INCOMPATIBLE": 6,
        "SAME_TYPE_INCOMPATIBLE_PARAMS": 7,
        "UNCHECKED": 8,
    }
