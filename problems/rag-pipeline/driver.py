"""Runs inside the worker next to the submission (`candidate.driver.<fn>(...)`).

Lists and tensors cross the checker/worker boundary as copies, so the checker cannot see an
index that keeps the caller's list and extends it on a later add, or that normalises the
tensor `embed` returned in place (an embed that returns a view of its own table, as an
embedding cache does). These run the calls next to the submission, on live objects, and return
what the caller's data holds afterwards as plain data; the checker compares it with what it sent.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch


def _chunks(module: ModuleType, texts: dict[str, str]) -> list[Any]:
    return [
        module.Chunk(doc_id=chunk_id.split("#")[0], chunk_id=chunk_id, text=text, start=0, end=len(text))
        for chunk_id, text in texts.items()
    ]


def caller_data(
    module: ModuleType, batches: list[dict[str, str]], query: str, rows: list[list[float]], texts: list[str]
) -> dict[str, Any]:
    """Adds `batches` one by one to a BM25Index and to a VectorIndex, searching after each add.

    The VectorIndex's embed looks texts up in one float32 table (row i embeds texts[i]) and
    returns a slice of it, a view, when the rows are consecutive, as the batches' texts are.
    Returns each batch list's chunk ids and the table as they are after every call.
    """
    table = torch.tensor(rows, dtype=torch.float32)
    position = {text: i for i, text in enumerate(texts)}

    def embed(batch: list[str]) -> torch.Tensor:
        where = [position[text] for text in batch]
        if where == list(range(where[0], where[0] + len(where))):
            return table[where[0] : where[0] + len(where)]  # a view of the caller's table
        return table[where]

    lexical_lists = [_chunks(module, batch) for batch in batches]
    vector_lists = [_chunks(module, batch) for batch in batches]
    lexical, semantic = module.BM25Index(), module.VectorIndex(embed)
    for lexical_batch, vector_batch in zip(lexical_lists, vector_lists, strict=True):
        lexical.add(lexical_batch)
        lexical.search(query, 10)
        semantic.add(vector_batch)
        semantic.search(query, 10)
    return {
        "bm25_lists": [[c.chunk_id for c in batch] for batch in lexical_lists],
        "vector_lists": [[c.chunk_id for c in batch] for batch in vector_lists],
        "table": table.clone(),
    }
