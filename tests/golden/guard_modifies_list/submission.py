"""Golden: guard modifies list in place; Wrong Answer naming it."""

import torch


def normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.sum()


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
        while items:  # drains the caller's list
            self.items.append(items.pop(0))
        return len(self.items)
