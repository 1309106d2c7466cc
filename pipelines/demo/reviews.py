"""The demo's analysts: fill a stratified validation sample's worksheet the way people would.

Why: a healthy demo closes the validation loop (issues 29 and 30): without reviews the latest
fiscal year has no estimate and ``validation_sample_due`` warns. The analysts' verdict on a case
is the generator's ground truth for it (``Case.reason``: '' is a TCO, else the failed prong(s)),
with a few answers flipped (reviewers err), independent second reviews on the draw's
``second_review`` marks (agreeing but once, that case then adjudicated) and one sampled case
whose file cannot be reviewed (UNREVIEWABLE), so the next spare of its stratum is reviewed in
its place. Seeded: the same seed and worksheet give the same rows.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence

FLIP_SHARE = 0.04
"""Share of first reviews whose verdict differs from the truth (3-5% is realistic)."""
ANALYSTS = ("a.rivera", "j.chen", "m.okafor")
ADJUDICATOR = "s.patel (supervisor)"
COLUMNS = (
    "case_number", "stratum", "spare", "second_review", "scrs", "reviewed_on",
    "association_of_individuals", "crosses_international_border", "review_outcome",
    "reviewer", "review_role", "notes",
)  # fmt: skip


def truth_prongs(reason: str | None, stratum: str) -> tuple[str, str]:
    """(association, border) per the generator's truth; without one, the determination's."""
    if reason is None:  # no truth for this case: the analyst confirms the determination
        return ("Y", "Y") if stratum.startswith("TCO") else ("Y", "N")
    assoc = reason not in ("no_association", "both")
    border = reason not in ("no_border_crossing", "both")
    return ("Y" if assoc else "N"), ("Y" if border else "N")


def _flip(prongs: tuple[str, str]) -> tuple[str, str]:
    """The opposite verdict: a TCO read as no border crossing, a non-TCO read as both prongs."""
    return ("Y", "N") if prongs == ("Y", "Y") else ("Y", "Y")


def needed_cases(
    frame: Sequence[Mapping], sizes: Mapping[str, int], unreviewable: set[str]
) -> list[str]:
    """Cases an analyst must review: per stratum the first n_h sample-or-spare SCRs in rank
    order whose case is reviewable (a spare takes an unreviewable SCR's place)."""
    out: dict[str, None] = {}
    taken: dict[str, int] = {}
    for r in sorted(frame, key=lambda r: (r["stratum"], r["rank"])):
        if r["role"] not in ("sample", "spare") or r["case_number"] in unreviewable:
            continue
        if taken.get(r["stratum"], 0) < sizes[r["stratum"]]:
            taken[r["stratum"]] = taken.get(r["stratum"], 0) + 1
            out[r["case_number"]] = None
    return list(out)


def fill(
    sheet: Sequence[Mapping[str, str]],
    frame: Sequence[Mapping],
    sizes: Mapping[str, int],
    truths: Mapping[str, str],
    seed: int,
    reviewed_on: str,
) -> tuple[list[dict[str, str]], dict]:
    """The review rows to land (only cases reviewed: unused spares stay out) and a summary."""
    rng = random.Random(f"{seed}:reviews")
    rows = {r["case_number"]: dict(r) for r in sheet}
    spared = {r["stratum"] for r in frame if r["role"] == "spare"}
    per_case = Counter(r["case_number"] for r in frame if r["role"] in ("sample", "spare"))
    single = [c for c, r in rows.items() if r["spare"] == "N" and r["second_review"] == "N"
              and per_case[c] == 1 and r["stratum"] in spared]  # fmt: skip
    lost = {rng.choice(single)} if single else set()
    cases = needed_cases(frame, sizes, lost)
    flipped = set(rng.sample(cases, k=max(1, round(FLIP_SHARE * len(cases)))))
    out, answers = [], {}
    for i, case in enumerate([*lost, *cases]):
        row = rows[case] | {"reviewed_on": reviewed_on, "reviewer": ANALYSTS[i % 3],
                            "review_role": "first", "review_outcome": "", "notes": ""}  # fmt: skip
        if case in lost:
            out.append(row | {"association_of_individuals": "", "crosses_international_border":
                              "", "review_outcome": "UNREVIEWABLE",
                              "notes": "case file could not be located"})  # fmt: skip
            continue
        truth = truth_prongs(truths.get(case), row["stratum"])
        answers[case] = _flip(truth) if case in flipped else truth
        out.append(row | _prongs(answers[case]))
    seconds = [c for c in cases if rows[c]["second_review"] == "Y"]
    disputed = rng.choice(seconds) if seconds else None
    for case in seconds:
        first = next(r["reviewer"] for r in out if r["case_number"] == case)
        second = ANALYSTS[(ANALYSTS.index(first) + 1) % 3]
        prongs = _flip(answers[case]) if case == disputed else answers[case]
        out.append(rows[case] | {"reviewed_on": reviewed_on, "reviewer": second,
                                 "review_role": "second", "review_outcome": "", "notes": ""}
                   | _prongs(prongs))  # fmt: skip
    if disputed:
        truth = truth_prongs(truths.get(disputed), rows[disputed]["stratum"])
        out.append(rows[disputed] | {"reviewed_on": reviewed_on, "reviewer": ADJUDICATOR,
                                     "review_role": "adjudication", "review_outcome": "",
                                     "notes": "first and second review disagreed"}
                   | _prongs(truth))  # fmt: skip
    summary = {
        "cases": len(cases) + len(lost),
        "spares_used": sum(rows[c]["spare"] == "Y" for c in cases),
        "flipped": len(flipped),
        "second_reviews": len(seconds),
        "adjudicated": int(disputed is not None),
        "unreviewable": sorted(lost),
    }
    return [{k: r.get(k, "") for k in COLUMNS} for r in out], summary


def _prongs(prongs: tuple[str, str]) -> dict[str, str]:
    return {"association_of_individuals": prongs[0], "crosses_international_border": prongs[1]}
