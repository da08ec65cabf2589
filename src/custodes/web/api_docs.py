"""`/docs` without a CDN: Swagger UI's assets come from the `swagger-ui-bundle` package.

FastAPI's default `/docs` and `/redoc` pages load their scripts from a CDN, so on an offline
machine (or behind a strict egress policy) they are blank, and a browser that can reach the
CDN tells it which internal host serves our API. This replaces both with a page whose every
asset is served by this process; the online validator badge is switched off too.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.routing import BaseRoute, Route
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"
_REPLACED = {"/docs", "/redoc", "/docs/oauth2-redirect"}


def _assets_folder() -> str:
    import swagger_ui_bundle

    return str(swagger_ui_bundle.swagger_ui_path)


def install_offline_docs(app: FastAPI) -> None:
    def keep(route: BaseRoute) -> bool:
        return not (isinstance(route, Route) and route.path in _REPLACED)

    app.router.routes[:] = [r for r in app.router.routes if keep(r)]
    app.docs_url = "/docs"
    app.redoc_url = None
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS, StaticFiles(directory=_assets_folder()), name="swagger-ui-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
