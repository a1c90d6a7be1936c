"""Imported once by the training jobs' fork server (``multiprocessing`` "forkserver"), so that
each job's child starts with torch and the trainers loaded: a child then starts in about 0.1 s
instead of seconds. The first optimiser a process builds imports ``torch._dynamo`` (seconds on
a busy CPU), so one is built here too. No threads are started: forking after this is safe."""

from __future__ import annotations

import torch

import core.digits.idx
import core.train.digits
import core.train.loop  # noqa: F401

torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
