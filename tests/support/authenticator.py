"""The software authenticator the tests use (it lives in the package: the demo uses it too)."""

from custodes.identity.softkey import UP, UV, SoftAuthenticator, b64, unb64

__all__ = ["UP", "UV", "SoftAuthenticator", "b64", "unb64"]
