"""Sign-in through the identity provider, as pages: `/signin/oidc` sends the browser to the
provider (setting the browser-binding cookie), `/signin/oidc/callback` is where it comes back.

Beginning a sign-in is anonymous and stores a pending row, so it is bounded twice: a rate per
client address (`identity.throttle`) and a cap on live pending sign-ins (`OIDCLogin.begin`),
each answered 429 problem+json with Retry-After.

The binding cookie is `SameSite=Lax` (the provider's redirect back is a cross-site top-level
GET, which a Strict cookie would not ride on) and scoped to `/signin/oidc`. The session cookie
stays Strict; because a Strict cookie set at the end of a cross-site redirect chain would not be
sent on a further redirect, the callback answers with a page that moves on to the inbox itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from custodes.identity.errors import IdentityError, TooManySignIns
from custodes.identity.oidc_login import BINDING_COOKIE, OIDCLogin
from custodes.identity.page_kit import SECURITY_HEADERS, PageKit
from custodes.identity.throttle import AddressThrottle

PATH = "/signin/oidc"


def add_oidc_routes(router: APIRouter, kit: PageKit, login: OIDCLogin) -> None:
    max_age = int(login.settings.login_ttl.total_seconds())

    @router.get(PATH)
    async def oidc_start(request: Request) -> Response:
        wait = login.throttle.take(request.client.host if request.client else None)
        try:
            if wait > 0:
                raise TooManySignIns(
                    "too_many_signins", "too many sign-ins from your network; try again soon", wait
                )
            start = await run_in_threadpool(login.begin)
        except TooManySignIns as exc:
            busy = kit.problem(exc)
            busy.headers["Retry-After"] = AddressThrottle.retry_after(exc.retry_after)
            return busy
        response = RedirectResponse(start.authorize_url, status_code=303, headers=SECURITY_HEADERS)
        response.set_cookie(
            BINDING_COOKIE,
            start.binding,
            max_age=max_age,
            path=PATH,
            secure=True,
            httponly=True,
            samesite="lax",
        )
        return response

    @router.get(PATH + "/callback")
    async def oidc_callback(request: Request) -> Response:
        params = request.query_params
        try:
            new = await run_in_threadpool(
                login.finish,
                params.get("state"),
                params.get("code"),
                request.cookies.get(BINDING_COOKIE),
                params.get("error"),
            )
        except IdentityError as exc:
            page: Response = kit.page(
                "signin.html", exc.status, title="Sign in", provider=True, refused=exc.reason
            )
        else:
            page = kit.signed_in(new, kit.page("signed_in.html", title="Signed in"))
        page.delete_cookie(BINDING_COOKIE, path=PATH, secure=True, httponly=True, samesite="lax")
        return page


__all__ = ["PATH", "add_oidc_routes"]
