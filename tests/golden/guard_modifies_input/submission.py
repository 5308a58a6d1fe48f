"""Golden: guard modifies input in place; Wrong Answer naming it."""

import torch


def normalise(x: torch.Tensor) -> torch.Tensor:
    return x.div_(x.sum())  # the caller's x is divided too, and returned


def normalise_(x: torch.Tensor) -> torch.Tensor:
    return x.div_(x.sum())


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # noqa: ANN001, ANN205
        return x * 2

    @staticmethod
    def backward(ctx, grad_output):  # noqa: ANN001, ANN205
        return grad_output * 2


class Stack:
    def __init__(self) -> None:
        self.items: list[int] = []

    def push(self, items: list[int]) -> int:
        self.items.extend(items)
        return len(self.items)
