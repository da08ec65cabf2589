"""Published RFC 6962 / C2SP vectors for the ledger tests (see tests.support.vectors): absent,
the tests that need them skip with the reason, or fail under CI."""

from tests.support.vectors import (  # noqa: F401
    consistency_probe,
    inclusion_probe,
    pytest_generate_tests,
    vectors,
)
