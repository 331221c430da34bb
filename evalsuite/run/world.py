"""The launch a run is part of: its world of ranks and the control plane between them.

Outside torchrun the world has one rank and :class:`LocalControl` (no-op barriers), so a
single-process run goes through the same orchestration as a sharded one.
``torchrun --nproc_per_node=N -m evalsuite run SUITE`` starts N copies of the CLI; each is
a rank, and torch.distributed (gloo, in the rank's runner process only, never in its
workers) is the control plane. See docs/DISTRIBUTED.md for the choices and their reasons.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any, Protocol

from evalsuite.errors import UserError
from evalsuite.progress import Progress

TIMEOUT_ENV = "EVALSUITE_DIST_TIMEOUT_S"


def resolve_device(device: str) -> str:
    """``auto`` means the first CUDA device when there is one, else the CPU.

    Only ``auto`` imports torch, so a run on a named device plans without it.
    """
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def world_size() -> int:
    """Ranks in this launch (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass(frozen=True)
class World:
    """This rank's place in the launch, from torchrun's environment."""

    rank: int
    size: int
    local_rank: int
    master_addr: str
    master_port: int
    timeout_s: float  # of barriers and rendezvous: ranks wait there for the slowest one

    @classmethod
    def from_env(cls) -> World:
        """Read RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (size 1 without them)."""
        if world_size() == 1:
            return cls.single()
        try:
            return cls(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                       int(os.environ.get("LOCAL_RANK", "0")), os.environ["MASTER_ADDR"],
                       int(os.environ["MASTER_PORT"]), float(os.environ.get(TIMEOUT_ENV, 86400)))
        except (KeyError, ValueError) as exc:
            raise UserError(f"WORLD_SIZE is set but the torchrun environment is incomplete ({exc}); "
                            "start with torchrun") from None

    @classmethod
    def single(cls) -> World:
        """A world of one: this process alone."""
        return cls(0, 1, 0, "", 0, 0.0)

    def device(self, resolved: str) -> str:
        """Each rank generates on its own GPU (cuda:LOCAL_RANK), or on the CPU."""
        if self.size == 1 or not resolved.startswith("cuda"):
            return resolved
        return f"cuda:{self.local_rank}"


class Control(Protocol):
    """How the ranks of a launch meet."""

    world: World
    store: Any  # a key-value store all ranks and their workers reach (None for one rank)

    def barrier(self) -> None:
        """Wait for every rank."""

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order."""

    def close(self) -> None:
        """Leave the launch."""


class LocalControl:
    """The control plane of a world of one: nobody to wait for."""

    store = None

    def __init__(self, world: World) -> None:
        self.world = world

    def barrier(self) -> None:
        """Nothing to wait for."""

    def broadcast(self, obj: Any) -> Any:
        """``obj`` itself."""
        return obj

    def gather(self, obj: Any) -> list[Any]:
        """``[obj]``."""
        return [obj]

    def close(self) -> None:
        """Nothing to leave."""


def connect(world: World) -> Control:
    """The control plane for ``world``: a gloo group under torchrun, else a local no-op one."""
    return LocalControl(world) if world.size == 1 else ControlPlane(world)


class ControlPlane:
    """A gloo process group in the rank's runner process, never in its workers."""

    def __init__(self, world: World) -> None:
        import torch.distributed as dist

        self.dist, self.world = dist, world
        timeout = datetime.timedelta(seconds=world.timeout_s)
        # torchrun's agent hosts the store at MASTER_ADDR:MASTER_PORT; other launchers leave
        # that to rank 0. Workers of context-parallel groups meet in the same store later.
        host = world.rank == 0 and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True"
        self.store = dist.TCPStore(world.master_addr, world.master_port,
                                   world.size if host else None, is_master=host, timeout=timeout,
                                   wait_for_workers=False)
        dist.init_process_group("gloo", store=dist.PrefixStore("evalsuite/control", self.store),
                                rank=world.rank, world_size=world.size, timeout=timeout)

    def barrier(self) -> None:
        """Wait for every rank."""
        self.dist.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        box = [obj]
        self.dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        out: list[Any] = [None] * self.world.size
        self.dist.all_gather_object(out, obj)
        return out

    def close(self) -> None:
        """Leave the process group."""
        if self.dist.is_initialized():
            self.dist.destroy_process_group()


def rank_progress(inner: Progress, world: World) -> Progress:
    """``inner`` itself for one rank; under torchrun, messages tagged with the rank."""
    return inner if world.size == 1 else RankProgress(inner, world)


class RankProgress:
    """Messages tagged with the rank; only rank 0 drives the progress bar."""

    def __init__(self, inner: Any, world: World) -> None:
        self.inner, self.world = inner, world
        bar = getattr(inner, "bar", None)
        if world.rank != 0 and bar is not None:
            # Ranks share the terminal: a second live display would redraw over rank 0's bar.
            bar.stop()
            inner.bar = None

    def __call__(self, message: str) -> None:
        """Print a line tagged with the rank."""
        self.inner(f"[rank {self.world.rank}/{self.world.size}] {message}")

    def start(self, description: str, total: int, already_done: int = 0) -> None:
        """Start rank 0's bar."""
        if self.world.rank == 0:
            self.inner.start(description, total, already_done)

    def update(self, completed: int) -> None:
        """Advance rank 0's bar."""
        if self.world.rank == 0:
            self.inner.update(completed)
