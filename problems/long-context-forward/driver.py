"""Loaded inside the worker next to the submission; this problem calls no driver functions.

It only pins torch to one intra-op thread. A chunked block is hundreds of small tensor ops per
chunk; on a busy 2-core machine a 2-thread OpenMP pool pays a thread hand-off on every op that
costs more than the op (the reference's T = 32768 case measured 5x slower on 2 threads than on
1 under load), so submissions and the reference are judged on one thread.
"""

from __future__ import annotations

import torch

torch.set_num_threads(1)
