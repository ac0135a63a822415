"""SMS spam, every text family side by side on the same split: TF-IDF + a linear model on scikit-learn (the
sms-spam-text example), the pretrained all-MiniLM-L6-v2 encoder frozen with a linear head and fine-tuned
(sms-spam-transfer), and a transformer trained from scratch (sms-spam-transformer), all in PyTorch.

    python benchmarks/bench_sms_text.py [--only tfidf transfer-frozen ...] [--fine-tune-epochs 3]
                                        [--fine-tune-length 128] [--keep DIR] [--json FILE]

Each model is a generated project built from its example spec and run as a user runs it (`python -m
<package>`: search, training, evaluation, ONNX export and parity, the service's latency); its figures are
recomputed here from its predictions.csv with scikit-learn. The split is the same for all: the examples'
train 70 % / validation 10 % / test 20 %, stratified, seed 2024, after removing duplicate messages (the
TF-IDF spec's 80/20 split is replaced by it; the scikit-learn back end selects by 5-fold cross-validation on
the training part and does not read the validation rows, the networks stop early on them). The script
checks that every project scored the same test rows. The fine-tuned encoder runs the transfer example with
`fine_tune: true`, a head learning rate of 1e-3, the encoder at 2e-5, `--fine-tune-epochs` epochs
(early stopping patience 1) and `--fine-tune-length` tokens per message: the settings to cap when the CPU
is slow. Targets (issue 9): transfer and TF-IDF at least 0.97 accuracy and 0.92 F1 of the spam class.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "specs" / "examples"
SPLIT = "  split:\n    train: 0.7\n    validation: 0.1\n    test: 0.2\n    stratify: true\n    seed: 2024\n"


def _tfidf(text: str, args: argparse.Namespace) -> str:
    old = "  split:\n    train: 0.8\n    test: 0.2\n    stratify: true\n    seed: 2024\n"
    assert old in text
    return text.replace(old, SPLIT)


def _fine_tuned(text: str, args: argparse.Namespace) -> str:
    edits = {
        "    fine_tune: false  # the encoder's weights stay as shipped: embeddings once, then the head\n":
            "    fine_tune: true\n    encoder_learning_rate: 0.00002\n",
        "    sequence_length: 128  # tokens read per message; longer ones are cut\n":
            f"    sequence_length: {args.fine_tune_length}\n",
        "  learning_rate: 0.01\n": "  learning_rate: 0.001\n",
        "  epochs: 100  # a linear head on fixed embeddings: each epoch takes well under a second\n":
            f"  epochs: {args.fine_tune_epochs}\n",
        "    patience: 10\n": "    patience: 1\n",
    }
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _same(text: str, args: argparse.Namespace) -> str:
    return text


MODELS: dict[str, tuple[str, Any, str]] = {
    "tfidf": ("sms-spam-text", _tfidf, "TF-IDF + logistic regression (scikit-learn; search: 30 trials, 5-fold CV)"),
    "transfer-frozen": ("sms-spam-transfer", _same, "all-MiniLM-L6-v2 frozen + linear head (PyTorch)"),
    "transfer-fine-tuned": ("sms-spam-transfer", _fine_tuned, "all-MiniLM-L6-v2 fine-tuned + linear head (PyTorch)"),
    "transformer": ("sms-spam-transformer", _same, "transformer from scratch, BPE vocabulary (PyTorch; search: 4 "
                                                   "trials)"),
}


def _run(name: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    from aispec.compiler.build import build

    example, edit, _ = MODELS[name]
    spec = folder / f"{name}.yaml"
    spec.write_text(edit((EXAMPLES / f"{example}.yaml").read_text(), args))
    project = folder / name
    result = build(spec, project)
    assert result.ok and result.plan is not None, result.diagnostics
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", result.plan.package], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"})
    seconds = time.perf_counter() - started
    (folder / f"{name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1):  # 1: a gate failed (e.g. latency on a busy machine); the figures stand
        raise RuntimeError(f"{name}: the run failed (exit {proc.returncode}); see {folder / (name + '.log')}")
    metrics = json.loads((project / "artifacts" / "metrics.json").read_text())
    predictions = pd.read_csv(project / "artifacts" / "predictions.csv", keep_default_na=False)
    truth, predicted = predictions["truth"], predictions["prediction"]
    return {
        "model": name, "rows": sorted(int(r) for r in predictions["row"]), "test_rows": len(predictions),
        "accuracy": accuracy_score(truth, predicted), "f1_spam": f1_score(truth, predicted, pos_label="spam"),
        "precision_spam": precision_score(truth, predicted, pos_label="spam"),
        "recall_spam": recall_score(truth, predicted, pos_label="spam"),
        "roc_auc": metrics["metrics"].get("roc_auc"), "fit_s": metrics["metrics"].get("train_time_s"),
        "run_s": seconds, "epochs": len((metrics.get("training") or {}).get("epochs") or []) or None,
        "parity_ok": metrics["onnx"].get("parity_ok"), "onnx_mb": metrics["metrics"].get("model_size_mb"),
        "p50_ms": metrics["metrics"].get("p50_latency_ms"), "gates_passed": proc.returncode == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--fine-tune-epochs", type=int, default=3)
    parser.add_argument("--fine-tune-length", type=int, default=128)
    parser.add_argument("--keep", type=Path, default=None, help="build and run the projects here (kept)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"machine: {os.cpu_count()} CPUs; projects in {folder}", flush=True)
        rows = []
        for name in args.only:
            row = _run(name, folder, args)
            rows.append(row)
            print(f"{name:20s} accuracy {row['accuracy']:.4f}  spam F1 {row['f1_spam']:.4f}  precision "
                  f"{row['precision_spam']:.4f}  recall {row['recall_spam']:.4f}  fit {row['fit_s']:.0f} s  run "
                  f"{row['run_s']:.0f} s", flush=True)
    same_rows = len({tuple(r["rows"]) for r in rows}) == 1
    print(f"\nsame test rows in every project: {same_rows} ({rows[0]['test_rows'] if rows else 0} messages)")
    print("\n| model | accuracy | spam F1 | spam precision | spam recall | ROC AUC | epochs | fit (s) | "
          "ONNX MB | p50 ms | targets |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        meets = row["accuracy"] >= 0.97 and row["f1_spam"] >= 0.92
        print(f"| {MODELS[row['model']][2]} | {row['accuracy']:.4f} | {row['f1_spam']:.4f} | "
              f"{row['precision_spam']:.4f} | {row['recall_spam']:.4f} | {row['roc_auc']:.4f} | "
              f"{row['epochs'] or '-'} | {row['fit_s']:.0f} | {row['onnx_mb']:.1f} | {row['p50_ms']:.1f} | "
              f"{'met' if meets else 'not met'} |")
    if args.json is not None:
        # the test rows as a digest: runs made apart can be checked for the same split
        figures = [{**{k: v for k, v in r.items() if k != "rows"},
                    "test_rows_sha256": hashlib.sha256(json.dumps(r["rows"]).encode()).hexdigest()} for r in rows]
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if same_rows else 1


if __name__ == "__main__":
    raise SystemExit(main())
