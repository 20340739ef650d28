"""The verifier's evaluation: scoring functions on hand-made fixtures, the set loaders on tiny
files in the sets' shapes, and one run of the real pipeline on them. Nothing here reads
../shared/data (the real sets are scored by bench/bench_verify.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from citewire.cli import cli
from citewire.errors import ConfigError
from citewire.evaluate_verify import (
    Pair,
    audit_verdict,
    binary_scores,
    calibrate_threshold,
    focus_evidence,
    load_audit_items,
    load_pairs,
    multiclass_scores,
    run_verify_eval,
    word_overlap,
)
from citewire.models import Check


def test_binary_scores_by_hand() -> None:
    # gold: 3 supported, 2 not; predictions catch 1 of the 2 and wrongly flag 1 supported.
    gold = [True, True, True, False, False]
    predicted = [True, True, False, False, True]
    scores = binary_scores(predicted, gold)
    assert scores.n == 5 and scores.not_supported == 2
    assert scores.accuracy == pytest.approx(3 / 5)
    assert scores.recall == pytest.approx(1 / 2)  # of "not supported"
    assert scores.precision == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(1 / 2)
    assert scores.balanced_accuracy == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_constant_guesses_score_half_balanced_accuracy() -> None:
    gold = [True, False, False, False]
    always_supported = binary_scores([True] * 4, gold)
    assert always_supported.balanced_accuracy == 0.5 and always_supported.f1 == 0.0
    never = binary_scores([False] * 4, gold)
    assert never.balanced_accuracy == 0.5 and never.f1 == pytest.approx(2 * 0.75 / 1.75)
    with pytest.raises(ValueError):
        binary_scores([True], gold)


def test_calibration_finds_the_separating_threshold() -> None:
    scores = [0.1, 0.2, 0.35, 0.6, 0.7, 0.9]
    gold = [False, False, False, True, True, True]
    grid = [0.3, 0.4, 0.5, 0.65, 0.8]
    found = calibrate_threshold(scores, gold, current=0.5, grid=grid, tolerance=0.005)
    # 0.4 and 0.5 both separate perfectly: the plateau keeps the current constant.
    assert found.chosen == 0.5 and found.balanced_accuracy == 1.0
    assert found.plateau == (0.4, 0.5)
    moved = calibrate_threshold(scores, gold, current=0.8, grid=grid, tolerance=0.005)
    assert moved.chosen == 0.5 and moved.current_balanced_accuracy < 1.0
    # By default the tolerance is two flipped pairs of the smaller class: on six pairs, one
    # misplaced pair (balanced accuracy 0.83 at 0.65) is no evidence against the constant.
    kept = calibrate_threshold(scores, gold, current=0.65, grid=grid)
    assert kept.chosen == 0.65 and kept.best_balanced_accuracy == 1.0


def test_calibration_never_passes_a_failed_fact() -> None:
    # -1 marks a pair whose facts failed: not supported at any threshold, even 0.
    found = calibrate_threshold(
        [-1.0, -1.0, 0.0, 0.9], [False, False, True, True], current=0.5, tolerance=0.005
    )
    assert found.chosen == 0.0 and found.balanced_accuracy == 1.0


def test_multiclass_scores_by_hand() -> None:
    gold = ["supported", "refuted", "refuted", "not_enough_info"]
    predicted = ["supported", "refuted", "not_enough_info", "not_enough_info"]
    scores = multiclass_scores(predicted, gold, ["supported", "refuted", "not_enough_info"])
    assert scores.accuracy == pytest.approx(3 / 4)
    assert scores.f1 == pytest.approx(
        {"supported": 1.0, "refuted": 2 / 3, "not_enough_info": 2 / 3}
    )
    assert scores.macro_f1 == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_audit_verdict_from_checks() -> None:
    passed = Check(passed=True, score=1.0, layer="extractive")
    silent = Check(passed=False, score=0.1, layer="deterministic", reasons=("only 10% ...",))
    contradicted = Check(
        passed=False, score=0.0, layer="deterministic", reasons=('"200" (it says "2,000")',)
    )
    assert audit_verdict([silent, passed]) == "supported"
    assert audit_verdict([silent, contradicted]) == "refuted"
    assert audit_verdict([passed, contradicted]) == "conflicting"
    assert audit_verdict([silent]) == audit_verdict([]) == "not_enough_info"


def test_word_overlap_and_focus() -> None:
    assert word_overlap("The ministry refused talks", "talks were refused by the ministry") == 1.0
    assert word_overlap("The ministry refused talks", "Nothing here.") == 0.0
    filler = " ".join(f"Sentence number {i} is about the weather." for i in range(80))
    evidence = filler + " The ministry refused the ceasefire talks on Tuesday. " + filler
    focused = focus_evidence("The ministry refused ceasefire talks.", evidence, max_words=40)
    assert "The ministry refused the ceasefire talks on Tuesday." in focused
    assert len(focused.split()) <= 40
    assert focus_evidence("claim", "short evidence") == "short evidence"


# --- loaders and a real run on tiny files in the sets' shapes ---------------------------------


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


PASSAGE = (
    "Veloria's foreign ministry said on Tuesday that it would not accept a temporary ceasefire. "
    "It demanded guarantees from the United Nations before any talks."
)


def _tiny_sets(root: Path) -> Path:
    ab = [
        {
            "claim": claim,
            "references": [PASSAGE],
            "attribution_label": label,
            "src_dataset": "Stanford-GenSearch",
            "id": str(i),
        }
        for i, (claim, label) in enumerate(
            [
                ("Veloria demanded guarantees from the United Nations.", "attributable"),
                ("Veloria would accept a temporary ceasefire.", "not attributable"),
                ("The ministry said so on Monday.", "not attributable"),
                ("It demanded guarantees before any talks.", "attributable"),
            ]
        )
    ]
    for name in ("dev.jsonl", "test_id_sampled500.jsonl", "test_ood.jsonl"):
        _write(root / "attributionbench" / name, ab)
    _write(
        root / "averitec_dev" / "dev.jsonl",
        [
            {
                "claim_id": 0,
                "claim": "Veloria accepted a temporary ceasefire on Tuesday.",
                "label": "Refuted",
                "questions": [
                    {
                        "question": "Did Veloria accept?",
                        "answers": [{"answer": PASSAGE, "answer_type": "Extractive"}],
                    }
                ],
            },
            {
                "claim_id": 1,
                "claim": "Veloria demanded guarantees from the United Nations.",
                "label": "Supported",
                "questions": [
                    {
                        "question": "What did Veloria demand?",
                        "answers": [{"answer": PASSAGE, "answer_type": "Extractive"}],
                    }
                ],
            },
        ],
    )
    return root


def test_loaders_read_the_sets_shapes(tmp_path: Path) -> None:
    root = _tiny_sets(tmp_path)
    pairs = load_pairs("attributionbench", root / "attributionbench", "dev")
    assert [p.supported for p in pairs] == [True, False, False, True]
    assert isinstance(pairs[0], Pair) and pairs[0].evidence == PASSAGE
    items = load_audit_items("averitec_dev", root / "averitec_dev")
    assert [i.verdict for i in items] == ["refuted", "supported"]
    assert items[0].passages[0].startswith("Did Veloria accept?")
    with pytest.raises(ConfigError, match="unknown verifier evaluation set"):
        run_verify_eval("nope", root)
    with pytest.raises(ConfigError, match="not found"):
        run_verify_eval("wice", root)


def test_run_on_tiny_sets_and_the_cli(tmp_path: Path) -> None:
    root = _tiny_sets(tmp_path)
    report = run_verify_eval("attributionbench", root)
    assert report.writer == "verifier" and report.n_items == 8  # test_id + test_ood
    deterministic = report.figure("deterministic.test_id.balanced_accuracy")
    majority = report.figure("majority.test_id.balanced_accuracy")
    assert deterministic is not None and majority is not None and majority.value == 0.5
    assert deterministic.value == 1.0  # the negation flip and the wrong weekday are caught
    audit = run_verify_eval("averitec_dev", root)
    accuracy = audit.figure("deterministic.accuracy")
    assert accuracy is not None and accuracy.value == 1.0

    result = CliRunner().invoke(cli, ["eval", "averitec_dev", "--data", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data[0]["set"] == "averitec_dev" and data[0]["writer"] == "verifier"
