"""The enroll and sign-in pages: registering the first passkey from an enrollment link, signing
in with a passkey or the optional password, signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from custodes.identity.errors import IdentityError, SessionRefused
from custodes.identity.page_kit import SECURITY_HEADERS, PageKit
from custodes.identity.sessions import COOKIE_NAME, check_csrf


def add_enroll_routes(router: APIRouter, kit: PageKit) -> None:
    service = kit.service

    @router.get("/enroll", response_class=HTMLResponse)
    def enroll_page() -> HTMLResponse:
        return kit.page("enroll.html", title="Enroll")

    @kit.refusals
    async def enroll_options(request: Request) -> Response:
        data = await kit.body_json(request)
        token = str(data.get("token", ""))
        return kit.options(await run_in_threadpool(service.registration_options, token))

    @kit.refusals
    async def enroll_finish(request: Request) -> Response:
        data = await kit.body_json(request)
        password = data.get("password") or None
        new = await run_in_threadpool(
            service.finish_registration,
            str(data.get("token", "")),
            str(data.get("challenge_id", "")),
            data.get("credential") or {},
            str(password) if password else None,
        )
        return kit.signed_in(new)

    router.add_api_route("/enroll/options", enroll_options, methods=["POST"])
    router.add_api_route("/enroll/finish", enroll_finish, methods=["POST"])


def add_signin_routes(router: APIRouter, kit: PageKit, provider: bool) -> None:
    """`provider`: offer sign-in through the identity provider too."""
    service = kit.service

    @router.get("/signin", response_class=HTMLResponse)
    def signin_page(request: Request) -> HTMLResponse:
        failed = request.query_params.get("failed")
        return kit.page("signin.html", title="Sign in", failed=failed, provider=provider)

    @kit.refusals
    async def signin_options(request: Request) -> Response:
        data = await kit.body_json(request)
        employee_id = data.get("employee_id") or None
        return kit.options(
            await run_in_threadpool(
                service.signin_options, str(employee_id) if employee_id else None
            )
        )

    @kit.refusals
    async def signin_finish(request: Request) -> Response:
        data = await kit.body_json(request)
        challenge_id, credential = str(data.get("challenge_id", "")), data.get("credential")
        new = await run_in_threadpool(service.finish_signin, challenge_id, credential or {})
        return kit.signed_in(new)

    router.add_api_route("/signin/options", signin_options, methods=["POST"])
    router.add_api_route("/signin/finish", signin_finish, methods=["POST"])
    _password_and_signout(router, kit)


def _password_and_signout(router: APIRouter, kit: PageKit) -> None:
    service = kit.service

    @router.post("/signin/password")
    async def signin_password(request: Request) -> Response:
        try:
            form = await kit.body_form(request)
            new = await run_in_threadpool(
                service.password_signin, form.get("employee_id", ""), form.get("password", "")
            )
        except IdentityError:
            return RedirectResponse("/signin?failed=1", status_code=303, headers=SECURITY_HEADERS)
        return kit.signed_in(
            new, RedirectResponse("/inbox", status_code=303, headers=SECURITY_HEADERS)
        )

    @router.post("/signout")
    async def signout(request: Request) -> Response:
        try:
            form = await kit.body_form(request)
            session = await run_in_threadpool(kit.current, request)
            check_csrf(session, form.get("csrf"))
            await run_in_threadpool(service.sign_out, request.cookies.get(COOKIE_NAME))
        except SessionRefused:
            pass
        except IdentityError as exc:
            return kit.problem(exc)
        response = RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="strict")
        return response
