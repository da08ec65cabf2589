"""Builders the test packages share (worlds, datasets, the API client, the CLI runner).

Test files import from here, never from a conftest or another test file; conftests only turn
these into fixtures.
"""
