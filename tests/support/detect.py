"""The detection tests' small labelled world and the pseudonym key their alerts use."""

from custodes.sim import SimConfig

SMALL = SimConfig(seed=11, customers=2500, employees=90, days=21)
KEY = b"k" * 32
