"""Who an employee is: OIDC ID tokens, passkey sign-in, server-side sessions, and approvals
signed by the approver's own authenticator. Below `access/`: imports store/, ledger entries
and config only, never access/ or web/.

Public API (what the door and the app wire in):

ID tokens (`X-Custodes-Employee-Token`)
    settings = OIDCSettings.from_env()          # None unless CUSTODES_OIDC_ISSUER is set;
                                                # also _JWKS_URL, _AUDIENCE, _EMPLOYEE_CLAIM,
                                                # _LEEWAY (s), _ALGORITHMS (asymmetric only)
    verifier = IDTokenVerifier(settings, EmployeeDirectory(engine))   # one per process
    who = verifier.verify(token)                 # -> VerifiedEmployee(employee_id, issuer,
                                                 #    expires_at, token_sha256, method="oidc")
    raises TokenRefused / JWKSUnavailable (401) or EmployeeRefused (403); `.reason` is a short
    ledgerable code (alg_not_allowed, unknown_kid, wrong_issuer, wrong_audience,
    token_expired, bad_signature, employee_suspended, ...). Record the refusal, answer 401.
    A token verified before is served from a cache keyed by its SHA-256 until its expiry or
    maximum age, while its key is still published; the employee is re-checked every time.

Sign-in through the identity provider (pages; authorization code + PKCE S256, state, nonce)
    login = OIDCLogin.from_env(service)          # None unless CUSTODES_OIDC_AUTHORIZATION_URL,
                                                 # _TOKEN_URL, _CLIENT_ID (_CLIENT_SECRET)
    start = login.begin()                        # -> LoginStart(authorize_url, binding cookie)
    new = login.finish(state, code, binding)     # -> NewSession; LoginRefused / TokenRefused /
                                                 #    EmployeeRefused, recorded when attributable

Sessions (pages; cookie `custodes_session`, Secure; HttpOnly; SameSite=Strict)
    service = IdentityService(engine, WebAuthnSettings.from_env(), record)
    session = service.session(request.cookies.get(COOKIE_NAME))
                                                 # -> EmployeeSession(employee_id, method,
                                                 #    expires_at, csrf_token, session_ref)
    check_csrf(session, header_or_form_value)    # CsrfRefused (403)
    raises SessionRefused (401) / EmployeeRefused (403).

Security events -> ledger
    `record(event: IdentityEvent) -> int` is the integrator's: append
    `event.to_ledger_entry().encode()` (kind "identity.event") and return the index;
    `ledger_recorder(lambda data: ledger.append(data))` does exactly that. Events:
    employee.enroll, employee.signin (allow and deny), employee.signout, credential.register
    (COSE public key, credential id, alg, sign count, RP id), credential.revoke, password.set.
    Each is recorded (committed) before the change is written; if `record` raises, nothing
    changes.

Enrollment and sign-in (what the pages call; `custodes employees enroll E0003` prints a link)
    service.enroll(employee_id) -> EnrollmentLink(token, url, expires_at)
    service.registration_options(token) / finish_registration(token, challenge_id, credential,
    password=None) -> NewSession; signin_options() / finish_signin(...) -> NewSession;
    password_signin(employee_id, password); sign_out(cookie); set_password(session, pw);
    revoke_credential(session, credential_id); credentials(employee_id).

Approvals (transaction authorization)
    options = service.begin_approval(approver_id, request_id, digest, "approve"|"refuse")
        # options.challenge_id is the approval id; the challenge is
        # approval_challenge(digest, approval_id, decision)
    proof = service.finish_approval(approval_id, approver_id, browser_credential_json)
        # ApprovalRefused (403) unless: the approver's own registered passkey, this
        # challenge, origin + RP id, user verification, sign count rising (or 0 and 0)
    entry extra = proof.ledger_extra()           # put it in the approval's ledger entry,
                                                 # with actor = the approver
    audit_approvals(entries) -> AuditReport      # offline, from ledger entries alone: every
        # approval against a credential.register entry before it, counts increasing,
        # approval ids used once

Pages
    app.include_router(identity_pages(engine, ledger, inbox=..., decide=...))
        inbox(approver_id) -> [PendingApproval(request_id, action, requester_id, digest,
                                               preview, expires_at)]   # masked preview
        decide(proof, session) -> dict           # record + apply; raise IdentityError to refuse
    Routes: GET /enroll, /signin, /inbox; POST /enroll/{options,finish},
    /signin/{options,finish,password}, /signout, /inbox/{options,finish}; with OIDC sign-in
    GET /signin/oidc and /signin/oidc/callback.
"""

import importlib
from typing import Any

# Imported on first use: the store's metadata imports `custodes.identity.models`, and every
# command should not pay for JOSE, WebAuthn and argon2 to get there.
_EXPORTS = {
    "ApprovalProof": "custodes.identity.approvals",
    "ApprovalRefused": "custodes.identity.errors",
    "AuditReport": "custodes.identity.approvals",
    "COOKIE_NAME": "custodes.identity.sessions",
    "CredentialRefused": "custodes.identity.errors",
    "CsrfRefused": "custodes.identity.errors",
    "EmployeeDirectory": "custodes.identity.directory",
    "EmployeeRefused": "custodes.identity.errors",
    "EmployeeSession": "custodes.identity.sessions",
    "EnrollmentLink": "custodes.identity.service",
    "EnrollmentRefused": "custodes.identity.errors",
    "IDTokenVerifier": "custodes.identity.oidc",
    "IdentityError": "custodes.identity.errors",
    "IdentityEvent": "custodes.identity.events",
    "IdentityService": "custodes.identity.service",
    "JWKSUnavailable": "custodes.identity.errors",
    "LoginRefused": "custodes.identity.errors",
    "OIDCLogin": "custodes.identity.oidc_login",
    "OIDCLoginSettings": "custodes.identity.settings",
    "NewSession": "custodes.identity.sessions",
    "OIDCSettings": "custodes.identity.settings",
    "Recorder": "custodes.identity.events",
    "RegisteredCredential": "custodes.identity.approvals",
    "SessionRefused": "custodes.identity.errors",
    "TokenRefused": "custodes.identity.errors",
    "VerifiedEmployee": "custodes.identity.oidc",
    "WebAuthnOptions": "custodes.identity.service",
    "WebAuthnSettings": "custodes.identity.settings",
    "approval_challenge": "custodes.identity.approvals",
    "audit_approvals": "custodes.identity.approvals",
    "check_approval": "custodes.identity.approvals",
    "check_csrf": "custodes.identity.sessions",
    "ledger_recorder": "custodes.identity.recording",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "COOKIE_NAME",
    "ApprovalProof",
    "ApprovalRefused",
    "AuditReport",
    "CredentialRefused",
    "CsrfRefused",
    "EmployeeDirectory",
    "EmployeeRefused",
    "EmployeeSession",
    "EnrollmentLink",
    "EnrollmentRefused",
    "IDTokenVerifier",
    "IdentityError",
    "IdentityEvent",
    "IdentityService",
    "JWKSUnavailable",
    "LoginRefused",
    "NewSession",
    "OIDCLogin",
    "OIDCLoginSettings",
    "OIDCSettings",
    "Recorder",
    "RegisteredCredential",
    "SessionRefused",
    "TokenRefused",
    "VerifiedEmployee",
    "WebAuthnOptions",
    "WebAuthnSettings",
    "approval_challenge",
    "audit_approvals",
    "check_approval",
    "check_csrf",
    "ledger_recorder",
]
