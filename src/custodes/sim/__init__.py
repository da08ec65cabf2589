"""Deterministic synthetic marketplace, written as a dataset folder (see ``generate``)."""

from custodes.sim.activity import ActivityLog
from custodes.sim.config import SimConfig
from custodes.sim.generate import build, generate, write
from custodes.sim.world import World
from custodes.sim.writer import SimSummary

__all__ = ["ActivityLog", "SimConfig", "SimSummary", "World", "build", "generate", "write"]
