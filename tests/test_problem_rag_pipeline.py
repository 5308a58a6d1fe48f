"""Project tests for the rag-pipeline problem that need no judge runner.

The reference is checked against the checker-side float64 oracle, stub and reference are
compared name by name, the metadata is checked against the files, and the hidden tests' corpus
is checked to still have the properties the hybrid-retrieval tests rely on.
"""

import inspect
import math
import random
import re
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from judge.catalog import load_catalog

from .problem_support import VERDICTS, load, load_wrong

REPO = Path(__file__).resolve().parents[1]
PROBLEM = REPO / "problems" / "rag-pipeline"


reference = load(REPO / "solutions_ref" / "rag_pipeline.py", "rag_reference")
stub = load(PROBLEM / "stub.py", "rag_stub")
sys.path.insert(0, str(PROBLEM))
sys.path.insert(0, str(REPO / "sandbox"))
oracle = load(PROBLEM / "rag_oracle.py", "rag_oracle")
corpus = load(PROBLEM / "rag_corpus.py", "rag_corpus")
checks = load(PROBLEM / "rag_checks.py", "rag_checks")
sys.path.remove(str(PROBLEM))
META = tomllib.loads((PROBLEM / "problem.toml").read_text())


@pytest.fixture(autouse=True)
def tolerances(monkeypatch):
    from judge_harness import checks

    table = {name: (float(v["atol"]), float(v["rtol"])) for name, v in META["tolerances"].items()}
    monkeypatch.setattr(checks, "TOLERANCES", table)


def random_text(rng: random.Random, words: int) -> str:
    vocab = ["cat", "Dog", "mat!", "sat", "the", "42", "naïve", "e-mail", "(x)"]
    spaces = [" ", "  ", "\n", "\t", "\u00a0"]
    return rng.choice(["", " "]) + "".join(rng.choice(vocab) + rng.choice(spaces) for _ in range(words))


# ---------------------------------------------------------------- reference vs oracle


def test_chunking_matches_oracle():
    rng = random.Random(0)
    for _ in range(300):
        text = random_text(rng, rng.randrange(0, 30))
        max_words = rng.randrange(1, 8)
        overlap = rng.randrange(0, max_words)
        got = [vars(c) for c in reference.chunk_document("d", text, max_words=max_words, overlap_words=overlap)]
        assert got == oracle.expected_chunks("d", text, max_words, overlap), (text, max_words, overlap)


def test_chunk_invariants_of_oracle():
    """The oracle itself satisfies the statement's rules, checked directly."""
    rng = random.Random(1)
    for _ in range(200):
        text = random_text(rng, rng.randrange(1, 30))
        max_words = rng.randrange(1, 8)
        overlap = rng.randrange(0, max_words)
        spans = oracle.chunk_spans(text, max_words, overlap)
        n = len(re.findall(r"\S+", text))
        assert spans[0][0] == 0 and spans[-1][1] == n
        for (first_a, last_a, _, _), (first_b, last_b, _, _) in zip(spans, spans[1:], strict=False):
            assert last_a - first_a == max_words and last_a - first_b == overlap and last_b > last_a


def test_bm25_matches_oracle():
    rng = random.Random(2)
    for _ in range(100):
        texts = {f"c#{i}": random_text(rng, rng.randrange(0, 10)) for i in range(rng.randrange(1, 10))}
        query = random_text(rng, rng.randrange(1, 4))
        k1, b = rng.uniform(0, 3), rng.uniform(0, 1)
        index = reference.BM25Index(k1=k1, b=b)
        index.add([reference.Chunk("c", i, t, 0, len(t)) for i, t in texts.items()])
        oracle.check_ranking(
            index.search(query, 20), oracle.bm25_scores(list(texts.items()), query, k1, b), 20, name="bm25"
        )


def test_cosine_and_rrf_match_oracle():
    generator = torch.Generator().manual_seed(0)
    table = {f"t{i}": torch.randn(8, generator=generator).tolist() for i in range(10)}

    def embed(texts):
        return torch.tensor([table[t] for t in texts])

    index = reference.VectorIndex(embed)
    index.add([reference.Chunk("v", f"v#{i}", f"t{i}", 0, 2) for i in range(9)])
    ids = [f"v#{i}" for i in range(9)]
    expected = oracle.cosine_scores(ids, embed([f"t{i}" for i in range(9)]), embed(["t9"]))
    oracle.check_ranking(index.search("t9", 9), expected, 9, name="cosine", dtype="float32")
    rankings = [["a", "b", "c"], ["c", "a"], ["d"]]
    assert reference.reciprocal_rank_fusion(rankings, k=3) == oracle.ranked(oracle.rrf_scores(rankings, 3))


def test_reference_fp16_cosine_is_finite():
    generator = torch.Generator().manual_seed(1)
    rows = (torch.randn(5, 64, generator=generator) * 200).half()
    index = reference.VectorIndex(lambda texts: rows[: len(texts)] if len(texts) > 1 else rows[4:5])
    index.add([reference.Chunk("h", f"h#{i}", str(i), 0, 1) for i in range(4)])
    assert all(math.isfinite(score) for _, score in index.search("q", 4))


# ---------------------------------------------------------------- stub, metadata


def public_api(module) -> dict[str, object]:
    names = {}
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            names[name] = inspect.signature(value)
        elif inspect.isclass(value):
            names[name] = {
                attr: str(inspect.signature(member))
                for attr, member in vars(value).items()
                if inspect.isfunction(member) and (not attr.startswith("_") or attr == "__init__")
            } | {"fields": list(getattr(value, "__dataclass_fields__", {}))}
    return {k: str(v) if not isinstance(v, dict) else v for k, v in names.items()}


def test_stub_and_reference_expose_same_api():
    assert public_api(stub) == public_api(reference)
    assert set(META["entry_points"]) <= set(public_api(reference))


def test_stub_raises_not_implemented():
    with pytest.raises(NotImplementedError):
        stub.chunk_document("d", "a b")
    with pytest.raises(NotImplementedError):
        stub.BM25Index()


def test_wrong_solutions_are_patches_with_a_verdict_and_a_bug():
    problem = load_catalog().get("rag-pipeline")
    on_disk = {path.name for path in (PROBLEM / "wrong").iterdir() if path.suffix in (".patch", ".py")}
    assert set(problem.wrong_solutions) == on_disk
    assert len(on_disk) >= 6
    assert "wrong_solutions" not in META  # the verdict lives in each file's header
    assert {verdict.value for verdict in problem.wrong_solutions.values()} <= VERDICTS - {"Accepted"}
    for name in sorted(on_disk):
        wrong = problem.wrong_solution(name)
        assert wrong.is_patch or wrong.header.get("why-a-file"), name
        assert wrong.bug and "\n" not in wrong.bug, name
        if wrong.verdict.value in ("Time Limit Exceeded", "Memory Limit Exceeded"):
            assert wrong.header.get("measured"), f"{name}: a resource-limit verdict states what was measured"
        module = load_wrong("rag-pipeline", name)
        assert all(hasattr(module, entry) for entry in META["entry_points"]), name


def test_dataclasses_and_tolerances_are_declared():
    assert META["dataclasses"] == ["Chunk", "Answer"]
    assert {"float64", "float32", "float16"} <= set(META["tolerances"])


def test_statement_states_the_tolerances():
    statement = (PROBLEM / "statement.md").read_text()

    def number(x: float) -> str:
        return f"{x:.1e}".replace(".0e", "e").replace("e-0", "e-")  # 1e-9, 2e-3, 1.6e-2

    for name, tol in META["tolerances"].items():
        assert f"`{name}` ({number(tol['atol'])}, {number(tol['rtol'])})" in statement, name


def test_catalog_loads_the_problem():
    from judge.catalog import load_catalog

    problem = load_catalog([REPO / "problems"]).get("rag-pipeline")
    assert problem is not None


# ---------------------------------------------------------------- the hidden tests' corpus


def ranks(docs, query, candidates=20):
    chunks = [c for d, t in docs.items() for c in oracle.expected_chunks(d, t, 40, 8)]
    ids = [c["chunk_id"] for c in chunks]
    texts = [c["text"] for c in chunks]
    lexical = [i for i, _ in oracle.ranked(oracle.bm25_scores(list(zip(ids, texts, strict=True)), query, 1.5, 0.75))]
    cosine = oracle.ranked(oracle.cosine_scores(ids, corpus.concept_embed(texts), corpus.concept_embed([query])))
    semantic = [i for i, _ in cosine]
    fused = [i for i, _ in oracle.ranked(oracle.rrf_scores([lexical[:candidates], semantic[:candidates]]))]
    return lexical, semantic, fused, cosine


def test_corpus_needs_both_retrievers():
    docs = corpus.help_desk_corpus()
    assert len(docs) > 20  # more chunks than `candidates`
    lexical, semantic, fused, _ = ranks(docs, corpus.LEXICAL_QUESTION)
    assert corpus.LEXICAL_ANSWER in lexical[:4] and corpus.LEXICAL_ANSWER not in semantic[:4]
    assert corpus.LEXICAL_ANSWER in fused[:4]
    lexical, semantic, fused, _ = ranks(docs, corpus.SEMANTIC_QUESTION)
    assert corpus.SEMANTIC_ANSWER not in lexical[:4] and corpus.SEMANTIC_ANSWER in semantic[:4]
    assert corpus.SEMANTIC_ANSWER in fused[:4]


def test_corpus_cosines_are_well_separated():
    """float32 rounding must not reorder the vector ranking the hidden tests compare exactly."""
    queries = [corpus.LEXICAL_QUESTION, corpus.SEMANTIC_QUESTION, *corpus.QUERIES, "automobile journey reimbursement"]
    for query in queries:
        cosine = [score for _, score in ranks(corpus.help_desk_corpus(), query)[3]]
        gaps = [a - b for a, b in zip(cosine[:21], cosine[1:22], strict=True)]
        assert min(gaps) > 1e-6, (query, min(gaps))


def test_corpus_bm25_scores_are_well_separated():
    """Distinct BM25 scores in the pipeline tests differ by far more than rounding."""
    docs = corpus.help_desk_corpus()
    for query in [corpus.LEXICAL_QUESTION, corpus.SEMANTIC_QUESTION, *corpus.QUERIES]:
        chunks = [(f"{d}#0", t) for d, t in docs.items()]
        scores = sorted(set(oracle.bm25_scores(chunks, query, 1.5, 0.75).values()), reverse=True)
        gaps = [a - b for a, b in zip(scores, scores[1:], strict=False)]
        assert not gaps or min(gaps) > 1e-6, (query, min(gaps))


def test_reranker_test_has_teeth():
    """The hidden reranker test's expected order differs from the fused order it replaces."""
    docs = corpus.help_desk_corpus()
    truncation_caught = False
    for query in (corpus.LEXICAL_QUESTION, corpus.SEMANTIC_QUESTION, corpus.QUERIES[0]):
        plain = checks.oracle_retrieve(docs, query, top_k=5, candidates=8)
        reranked = checks.oracle_retrieve(docs, query, top_k=5, candidates=8, reranker=checks.crc_reranker)
        truncated_then_reranked = sorted(plain, key=lambda c: -checks.crc_reranker(query, [c["text"]])[0])
        assert reranked != plain, query
        truncation_caught |= reranked != truncated_then_reranked
    assert truncation_caught


def test_defaults_corpus_is_well_separated():
    """The default-settings test compares the vector top 20 exactly: its cosines are far apart."""
    docs = {**corpus.help_desk_corpus(), "handbook": corpus.handbook_doc()}
    chunks = [c for d, t in docs.items() for c in oracle.expected_chunks(d, t, 200, 40)]
    ids, texts = [c["chunk_id"] for c in chunks], [c["text"] for c in chunks]
    query = corpus.DEFAULTS_QUESTION
    scores = oracle.cosine_scores(ids, corpus.concept_embed(texts), corpus.concept_embed([query]))
    cosine = sorted(scores.values(), reverse=True)
    assert min(a - b for a, b in zip(cosine[:21], cosine[1:22], strict=True)) > 1e-6
    fused = [
        len(checks.oracle_retrieve(docs, query, top_k=10**6, candidates=n, max_words=200, overlap_words=40))
        for n in (19, 20, 21)
    ]
    assert fused[0] < fused[1] < fused[2], fused  # candidates=19 or 21 would show
