"""The web app: a single-page app served from this package (no CDN, no build step).

``/app/assets/...`` are static files; every other path under ``/app/`` answers with the
app's page, so a reload or a shared link (``/app/projects/{id}/...``) lands on the same
view. ``/docs`` is Swagger UI from the same vendored files. None of these routes are part
of the API's schema.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
APP_PREFIX = "/app"

# Scripts only from this origin; styles inline too (Mermaid writes <style> into its SVGs);
# images from this origin or data: URLs (Mermaid icons). Documents are model-written text:
# they are sanitised before they reach the page, and the policy is the second line.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse(f"{APP_PREFIX}/", status_code=307)


@router.get("/docs")
async def api_docs() -> HTMLResponse:
    vendor = f"{APP_PREFIX}/assets/vendor"
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="docflow API",
        swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
        swagger_css_url=f"{vendor}/swagger-ui.css",
        swagger_favicon_url="data:,",
    )


@router.get(APP_PREFIX)
@router.get(APP_PREFIX + "/{view:path}")
async def app_page(view: str = "") -> FileResponse:
    if view.startswith("assets/"):
        raise HTTPException(404, detail="no such file")
    return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)


def install_web_app(app: FastAPI) -> None:
    """Static assets first: the page route's catch-all must not shadow them. Only the
    assets are gzipped (Mermaid: 5.3 MB -> 1.6 MB); the API's SSE streams are left alone."""
    assets = GZipMiddleware(StaticFiles(directory=WEB_DIR / "assets"), minimum_size=1024)
    app.mount(f"{APP_PREFIX}/assets", assets, name="web-assets")
    app.include_router(router)
