"""The identity service: enrollment, passkey and password sign-in, sessions, credentials,
approvals. One class for the integrator to hold; each job lives in its own module
(`enrollment`, `signin`, `credentials`, `approving`), sharing `core.ServiceCore`.
"""

from __future__ import annotations

from custodes.identity.approving import ApprovalSteps
from custodes.identity.core import WebAuthnOptions
from custodes.identity.credentials import CredentialInfo, CredentialSteps
from custodes.identity.enrollment import EnrollmentLink, EnrollmentSteps
from custodes.identity.signin import SignInSteps


class IdentityService(EnrollmentSteps, SignInSteps, CredentialSteps, ApprovalSteps):
    """`IdentityService(engine, WebAuthnSettings, record, directory=None, clock=None)`."""


__all__ = ["CredentialInfo", "EnrollmentLink", "IdentityService", "WebAuthnOptions"]
