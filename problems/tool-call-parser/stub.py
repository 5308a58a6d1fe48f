"""Parse tool calls out of free model output and validate them against JSON-Schema tools.

Toolformer (Schick et al., 2023) https://arxiv.org/abs/2302.04761; the call format is the
`{"name": ..., "arguments": {...}}` object of OpenAI-style function calling.

Fill in `parse_tool_calls`. Keep the names, fields and signature below; add private helpers freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]  # the parsed object, nothing added, removed or coerced


@dataclass
class ToolCallError:
    code: (
        str  # invalid_json | bad_shape | unknown_tool | missing_required | unexpected_field | wrong_type | not_in_enum
    )
    call_index: int  # 0-based index of the offending candidate in scan order
    path: list[str | int]  # [] for the first three codes; the offending field for the others
    message: str  # for a retry prompt


def parse_tool_calls(text: str, tools: list[dict[str, Any]]) -> list[ToolCall] | ToolCallError:
    """Every call in `text`, in order, or the first problem as a ToolCallError (returned, never raised).

    Only broken `tools` raise ValueError, checked before the text is read.
    """
    raise NotImplementedError
