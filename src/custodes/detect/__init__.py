"""Insider-risk detection over access events and reference data (see ``pipeline.run``).

Inputs (``inputs``) → features (``features``: explained reads, grid) → signals (``signals``)
→ scores (``scoring``) → alerts (``alerts``); ``engine`` picks DuckDB or Spark; ``evaluate``
measures it on labelled synthetic worlds (``custodes.sim.scenarios``).
"""
