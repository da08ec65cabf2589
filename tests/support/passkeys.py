"""An employee with a software passkey against a running `custodes serve`, over real HTTP:
enrolled from the link `custodes employees enroll` prints, signed in with a session, deciding
approvals in two steps (the challenge, then the assertion)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from custodes.identity.sessions import COOKIE_NAME, csrf_token
from custodes.identity.softkey import SoftAuthenticator


@dataclass
class Person:
    employee_id: str
    authenticator: SoftAuthenticator
    cookie: str

    def headers(self, secret: str) -> dict[str, str]:
        """A service's call on this employee's session (the CSRF token guards changes)."""
        return {
            "Authorization": f"Bearer {secret}",
            "Cookie": f"{COOKIE_NAME}={self.cookie}",
            "X-CSRF-Token": csrf_token(self.cookie),
        }

    def decide(
        self, base: str, secret: str, request_id: str, digest: str, decision: str = "approve"
    ) -> httpx.Response:
        headers = self.headers(secret)
        start = httpx.post(
            f"{base}/v1/requests/{request_id}/approval",
            json={"decision": decision, "digest": digest},
            headers=headers,
            timeout=60,
        )
        if start.status_code != 200:
            return start
        answer = self.authenticator.assert_(json.dumps(start.json()["options"]))
        return httpx.post(
            f"{base}/v1/requests/{request_id}/{decision}",
            json={"approval_id": start.json()["approval_id"], "credential": answer},
            headers=headers,
            timeout=60,
        )


def enroll(base: str, origin: str, link: str, employee_id: str) -> Person:
    """Follow an enrollment link as the browser would: options, a new passkey, finish."""
    token = link.strip().split("#", 1)[1]
    same_site = {"Origin": origin}
    options = httpx.post(f"{base}/enroll/options", json={"token": token}, headers=same_site)
    assert options.status_code == 200, options.text
    authenticator = SoftAuthenticator(origin=origin)
    credential = authenticator.register(json.dumps(options.json()["options"]))
    body = {
        "token": token,
        "challenge_id": options.json()["challenge_id"],
        "credential": credential,
    }
    done = httpx.post(f"{base}/enroll/finish", json=body, headers=same_site)
    assert done.status_code == 200, done.text
    return Person(employee_id, authenticator, done.cookies[COOKIE_NAME])


def link_of(output: str) -> str:
    return next(line for line in output.splitlines() if "/enroll#" in line)


def web_env(port: int) -> dict[str, str]:
    """The server's pages origin for a test server on loopback."""
    return {"CUSTODES_WEB_ORIGIN": f"http://localhost:{port}"}


__all__ = ["Person", "enroll", "link_of", "web_env"]
