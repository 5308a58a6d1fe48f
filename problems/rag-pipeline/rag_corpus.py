"""Checker-side test data for rag-pipeline: a concept embedding function and a help-desk corpus.

`concept_embed` stands in for a sentence encoder: words from one synonym group share an
axis (so "automobile" and "car" are close), every other word adds a small fixed
pseudo-random direction (so a rare identifier is nearly invisible to it). The corpus is
built so that one question is answerable only lexically and another only semantically.
"""

from __future__ import annotations

import functools
import random
import re
import zlib

import torch

E = 48  # embedding dim
NOISE = 0.25  # length of the direction a word outside every synonym group adds

SYNONYMS = [
    ["automobile", "car", "vehicle", "sedan", "van"],
    ["reimbursement", "refund", "repaid", "mileage", "expenses"],
    ["trip", "travel", "journey", "driving", "drive"],
    ["error", "fault", "failure", "malfunction", "crash"],
    ["backup", "snapshot", "archive"],
    ["storage", "disk", "volume"],
    ["printer", "toner", "paper"],
    ["network", "vpn", "wifi", "router"],
    ["password", "login", "credentials"],
    ["laptop", "monitor", "keyboard"],
    ["holiday", "vacation", "leave"],
    ["meeting", "calendar", "invite"],
]
CONCEPT = {word: axis for axis, group in enumerate(SYNONYMS) for word in group}


@functools.cache
def word_noise(word: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(zlib.crc32(word.encode()))
    direction = torch.randn(E, generator=generator, dtype=torch.float64)
    return direction / direction.norm()


@functools.cache  # the tests embed the same corpus many times; callers never modify the result
def embed_one(text: str) -> torch.Tensor:
    v = torch.zeros(E, dtype=torch.float64)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in CONCEPT:
            v[CONCEPT[word]] += 1.0
        else:
            v += NOISE * word_noise(word)
    return v


def concept_embed(texts: list[str]) -> torch.Tensor:
    """texts -> (N, E) float32."""
    if not texts:
        return torch.zeros(0, E)
    return torch.stack([embed_one(text) for text in texts]).float()


# The two questions the hybrid test asks, and the chunks that answer them.
LEXICAL_QUESTION = "what does error QX7731 mean"  # answerable only by the rare identifier
LEXICAL_ANSWER = "runbook-backup#0"
SEMANTIC_QUESTION = "automobile journey reimbursement form"  # answerable only through synonyms
SEMANTIC_ANSWER = "policy-mileage#0"

# Questions the fused-order tests ask; none is answered by a single key document alone.
QUERIES = [
    "printer paper jam fault",
    "how do I reset my password after a login failure",
    "vpn router network",
    "badge form intranet",
    "monitor keyboard laptop crash disk",
]

KEY_DOCS = {
    "runbook-backup": "QX7731 is the fault raised when the nightly backup cannot renew the lease on its storage volume.",
    "policy-mileage": "Staff who drive their own car to a client site are repaid the mileage on their next payslip.",
    # close distractors: fault-heavy texts for the lexical question, travel texts for the semantic one
    "printer-faults": "A printer fault or a paper malfunction usually means the tray is jammed.",
    "vpn-failure": "A vpn failure or network fault is fixed by restarting the router.",
    "laptop-crash": "After a laptop crash with a disk fault, open a ticket with the service desk.",
    "login-lockout": "A login failure after three attempts locks the account until a password reset.",
    "monitor-flicker": "Monitor flicker is a known fault of the old docking stations.",
    "trip-reports": "Trip reports from the conference are due on Friday.",
    "car-park": "The car park behind building B is closed for resurfacing.",
    "badge-form": "The form for a replacement badge is on the intranet.",  # lexical decoy for the semantic question
}

FILLER_WORDS = (
    "quarterly roadmap office kitchen badge visitor lobby intranet wiki onboarding survey canteen "
    "plants elevator parcel post desk chair lamp coffee shuttle bicycle rack locker shower gym "
    "recycling bins whiteboard markers projector room booking lunch seminar newsletter team "
    "alpha beta gamma delta project review notes agenda budget forecast hiring interview"
).split()


def filler_docs(count: int = 44, seed: int = 7) -> dict[str, str]:
    """Short memos: filler words plus a few synonym-group words, never the questions' words."""
    rng = random.Random(seed)
    topical = [w for group in SYNONYMS[6:] for w in group]  # no cars, money, travel, faults, backups, storage
    docs = {}
    for i in range(count):
        words = rng.sample(FILLER_WORDS, 9) + rng.sample(topical, 3)
        rng.shuffle(words)
        docs[f"memo-{i:02d}"] = " ".join(words).capitalize() + "."
    return docs


def help_desk_corpus() -> dict[str, str]:
    """Key documents first, then the memos: more chunks than `candidates`=20."""
    return {**KEY_DOCS, **filler_docs()}


# A 450-word document: three chunks at the pipeline's default max_words=200, overlap_words=40.
DEFAULTS_QUESTION = "where is the zebra"  # "zebra" is in the handbook only; "is" and "the" are everywhere


def handbook_doc() -> str:
    return " ".join("zebra" if i % 15 == 7 else FILLER_WORDS[(i * 7) % len(FILLER_WORDS)] for i in range(450))
