#!/usr/bin/env python
"""Evaluate the knowledge engine.

Default: train on the training files only (knowledge/data/train*.jsonl) and score the fixed held-out split
tests/data/heldout.jsonl. `--cv K` instead runs a K-fold cross-validation of the training files (for
development; the held-out file is not read then).

Reports accuracy and macro-F1 for category, intent and urgency, answer hit@1/hit@3 over messages with
labelled articles, hand-off precision/recall and a category confusion matrix. `--json` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("PYTHAINLP_OFFLINE", "1")
os.environ.setdefault("PYTHAINLP_READ_ONLY", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

from knowledge.articles import CATEGORIES, load_articles  # noqa: E402
from knowledge.engine import (  # noqa: E402
    KnowledgeEngine,
    Settings,
    default_train_files,
    read_jsonl,
)

HELDOUT = ROOT / "tests" / "data" / "heldout.jsonl"

TARGETS = {
    "category_accuracy": 0.90,
    "category_macro_f1": 0.85,
    "intent_accuracy": 0.90,
    "urgency_accuracy": 0.95,
    "hit_at_1": 0.85,
    "hit_at_3": 0.95,
}


def predict(engine: KnowledgeEngine, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rec in records:
        a = engine.answer(rec["text"], subject=rec.get("subject"))
        ranked = ([a.article] if a.article is not None else []) + list(a.alternatives)
        out.append({
            "id": rec.get("id"),
            "category": a.understanding.category,
            "intent": a.understanding.intent,
            "urgency": a.understanding.urgency,
            "kind": a.kind,
            "handoff": a.handoff,
            "ranked": [x.id for x in ranked],
        })
    return out


def score(records: Sequence[dict[str, Any]], preds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    res: dict[str, Any] = {"n": len(records)}
    for key in ("category", "intent", "urgency"):
        gold = [r.get(key) for r in records]
        pred = [p[key] for p in preds]
        labels = sorted({g for g in gold if g is not None})
        res[f"{key}_accuracy"] = round(float(accuracy_score(gold, pred)), 4)
        res[f"{key}_macro_f1"] = round(float(f1_score(gold, pred, labels=labels, average="macro",
                                                      zero_division=0)), 4)
    with_articles = [(r, p) for r, p in zip(records, preds, strict=True) if r.get("articles")]
    hit1 = sum(1 for r, p in with_articles if p["ranked"][:1] and p["ranked"][0] in r["articles"])
    hit3 = sum(1 for r, p in with_articles if set(p["ranked"][:3]) & set(r["articles"]))
    n_art = max(1, len(with_articles))
    res["articles_n"] = len(with_articles)
    res["hit_at_1"] = round(hit1 / n_art, 4)
    res["hit_at_3"] = round(hit3 / n_art, 4)
    tp = sum(1 for r, p in zip(records, preds, strict=True) if r.get("handoff") and p["handoff"])
    fp = sum(1 for r, p in zip(records, preds, strict=True) if not r.get("handoff") and p["handoff"])
    fn = sum(1 for r, p in zip(records, preds, strict=True) if r.get("handoff") and not p["handoff"])
    res["handoff_precision"] = round(tp / max(1, tp + fp), 4)
    res["handoff_recall"] = round(tp / max(1, tp + fn), 4)
    conf: dict[str, Counter[str]] = defaultdict(Counter)
    for r, p in zip(records, preds, strict=True):
        conf[r.get("category") or "?"][p["category"]] += 1
    res["category_confusion"] = {g: dict(c) for g, c in sorted(conf.items())}
    res["kinds"] = dict(Counter(p["kind"] for p in preds))
    res["targets_met"] = {k: res[k] >= v for k, v in TARGETS.items()}
    return res


def cross_validate(records: list[dict[str, Any]], k: int, seed: int, settings: Settings) -> tuple[
        dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    articles = load_articles()
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    folds = [order[i::k] for i in range(k)]
    gold_all: list[dict[str, Any]] = []
    pred_all: list[dict[str, Any]] = []
    for fold in folds:
        test_ids = set(fold)
        train = [records[i] for i in order if i not in test_ids]
        test = [records[i] for i in fold]
        engine = KnowledgeEngine.from_records(articles, train, settings=settings)
        pred_all += predict(engine, test)
        gold_all += test
    return score(gold_all, pred_all), gold_all, pred_all


def print_report(res: dict[str, Any], title: str) -> None:
    print(title)
    print(f"  messages: {res['n']}  (with articles: {res['articles_n']})")
    rows = [
        ("category", "category_accuracy", "category_macro_f1"),
        ("intent", "intent_accuracy", "intent_macro_f1"),
        ("urgency", "urgency_accuracy", "urgency_macro_f1"),
    ]
    print(f"  {'task':<10}{'accuracy':>10}{'macro-F1':>10}")
    for name, acc, f1 in rows:
        print(f"  {name:<10}{res[acc]:>10.3f}{res[f1]:>10.3f}")
    print(f"  answer hit@1 {res['hit_at_1']:.3f}   hit@3 {res['hit_at_3']:.3f}")
    print(f"  handoff precision {res['handoff_precision']:.3f}   recall {res['handoff_recall']:.3f}")
    print(f"  kinds: {res['kinds']}")
    cats = [c for c in CATEGORIES if c in res["category_confusion"] or
            any(c in row for row in res["category_confusion"].values())]
    short = {c: c[:6] for c in cats}
    print("  category confusion (rows gold, columns predicted):")
    print("  " + " " * 26 + "".join(f"{short[c]:>7}" for c in cats))
    for g in cats:
        row = res["category_confusion"].get(g, {})
        print(f"  {g:<26}" + "".join(f"{row.get(c, 0) or '.':>7}" for c in cats))
    met = res["targets_met"]
    print("  targets: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in met.items()))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold cross-validation of the training files")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--errors", type=int, default=0, metavar="N", help="(cv only) print N misclassified messages")
    ap.add_argument("--train", nargs="*", type=Path, help="training files (default knowledge/data/train*.jsonl)")
    args = ap.parse_args(argv)

    train_files = args.train if args.train else default_train_files()
    records = read_jsonl(train_files)
    settings = Settings()
    t0 = time.perf_counter()
    if args.cv:
        res, gold, preds = cross_validate(records, args.cv, args.seed, settings)
        title = f"cross-validation ({args.cv} folds) of {len(records)} training messages"
        if args.errors and not args.json:
            shown = 0
            for r, p in zip(gold, preds, strict=True):
                wrong = [k for k in ("category", "intent", "urgency") if r.get(k) != p[k]]
                if r.get("articles") and (not p["ranked"] or p["ranked"][0] not in r["articles"]):
                    wrong.append(f"article {r['articles'][0]} got {p['ranked'][:3]}")
                if bool(r.get("handoff")) != p["handoff"]:
                    wrong.append(f"handoff {r.get('handoff')}")
                if wrong:
                    print(f"- {r['text'][:90]!r}")
                    print("    " + "; ".join(w if w.startswith(("article", "handoff")) else
                                           f"{w} {r.get(w)}->{p[w]}" for w in wrong) + f"  kind={p['kind']}")
                    shown += 1
                    if shown >= args.errors:
                        break
    else:
        articles = load_articles()
        engine = KnowledgeEngine.from_records(articles, records, settings=settings)
        heldout = read_jsonl([HELDOUT])
        res = score(heldout, predict(engine, heldout))
        title = f"held-out evaluation: {len(heldout)} messages, trained on {len(records)} training messages"
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2))
    else:
        print_report(res, title)
        print(f"  ({res['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
