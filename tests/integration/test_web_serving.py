"""The API serves the web app: its page at every /app/ path, its assets, nothing else."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx


async def test_every_app_path_answers_with_the_page_and_its_policy(
    http: httpx.AsyncClient,
) -> None:
    for path in ("/app", "/app/", "/app/signin", f"/app/projects/{uuid4()}/documents"):
        page = await http.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/app/assets/app.js">' in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


async def test_root_redirects_to_the_app(http: httpx.AsyncClient) -> None:
    answer = await http.get("/")
    assert answer.status_code == 307 and answer.headers["location"] == "/app/"


async def test_assets_are_served_and_a_missing_one_is_a_404(http: httpx.AsyncClient) -> None:
    script = await http.get("/app/assets/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    missing = await http.get("/app/assets/no-such-file.js")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    escape = await http.get("/app/assets/..%2F..%2Fapp.py")
    assert escape.status_code == 404


async def test_the_app_is_not_part_of_the_api_schema(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    assert not [
        path for path in schema["paths"] if not path.startswith(("/api/", "/healthz", "/readyz"))
    ]


async def test_assets_are_gzipped_for_browsers_that_ask(http: httpx.AsyncClient) -> None:
    mermaid = await http.get("/app/assets/vendor/mermaid.min.js")
    assert mermaid.headers["content-encoding"] == "gzip"
    assert mermaid.num_bytes_downloaded < len(mermaid.content) / 2


async def test_api_docs_load_nothing_from_another_origin(http: httpx.AsyncClient) -> None:
    docs = await http.get("/docs")
    assert docs.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", docs.text)
    assert sources and all(source.startswith(("/app/assets/", "data:")) for source in sources)
    assert "'/openapi.json'" in docs.text or '"/openapi.json"' in docs.text
    for source in sources:
        if source.startswith("/app/"):
            assert (await http.get(source)).status_code == 200, source
    assert (await http.get("/redoc")).status_code == 404
