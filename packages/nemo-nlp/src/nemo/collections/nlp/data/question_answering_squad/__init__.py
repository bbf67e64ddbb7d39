"""NeMo 1.23's older SQuAD helpers: scoring functions and ``SquadDataset``'s span helpers."""
