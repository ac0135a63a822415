"""Data files the examples do not use, written by the tests (fixed seed): loan applications with an
e-mail column (personal by name and by value) and a phone column whose name says nothing (personal by
value only), a boolean, categories, and a yes/no target that the numbers explain."""

from __future__ import annotations

import csv
import random
from pathlib import Path

COLUMNS = ["applicant_email", "contact", "age", "income", "loan_amount", "region", "employment",
           "has_guarantor", "approved"]


def loans_rows(n: int = 240, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        income = round(rng.uniform(1500, 9000), 2)
        loan = round(rng.uniform(1000, 40000), 0)
        guarantor = rng.random() < 0.3
        employment = rng.choice(["salaried", "self-employed", "retired", "student"])
        score = income * 6 - loan + (6000 if guarantor else 0) - (8000 if employment == "student" else 0)
        approved = "yes" if score + rng.gauss(0, 3000) > 12000 else "no"
        rows.append({
            "applicant_email": f"applicant{i}@mail.example.org",
            "contact": f"+44 20 7946 {rng.randrange(1000, 9999)}",
            "age": rng.randrange(18, 80),
            "income": income,
            "loan_amount": int(loan),
            "region": rng.choice(["north", "south", "east", "west"]),
            "employment": employment,
            "has_guarantor": "true" if guarantor else "false",
            "approved": approved,
        })
    return rows


def write_loans(path: Path, n: int = 240) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(loans_rows(n))
    return path
