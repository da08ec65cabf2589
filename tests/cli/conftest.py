"""An initialised CUSTODES_HOME for the CLI tests."""

from tests.support.cli import home  # noqa: F401
