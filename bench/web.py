"""Benchmark: what the web app costs a browser. Headless Debian Chromium (Playwright) against
the API and worker as separate processes, on a fresh embedded stack.

    .venv/bin/python -m bench.web [--runs 5]

Per run, in a new browser context (empty cache): the sign-in page (bytes on the wire, time
to the form), then a project's run view at a gate with C4 diagrams (time to the first
diagram drawn, Mermaid loaded on demand), then the same view again with a warm cache.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page

from bench.api import services, wait_ready
from docflow import admin
from docflow.embedded import free_port_settings
from docflow.settings import Settings
from docflow.storage.db import make_engine
from tests.browser import CHROMIUM, chromium

PASSWORD = "a long enough password"
TRANSFERRED = """() => performance.getEntriesByType("navigation").concat(
  performance.getEntriesByType("resource")).reduce((sum, entry) => sum + entry.transferSize, 0)"""


def _summary(samples: list[float], unit: str = "ms") -> str:
    ordered = sorted(samples)
    return (
        f"p50 {statistics.median(ordered):7.1f} {unit}   max {ordered[-1]:7.1f} {unit}"
        f"   (n={len(ordered)})"
    )


async def _user(settings: Settings) -> str:
    engine = make_engine(settings.database_url or "")
    tenant = await admin.ensure_tenant(engine, "bench", "Benchmark")
    await admin.add_member(engine, tenant.id, "bench@example.com", PASSWORD, "owner")
    await engine.dispose()
    return "bench@example.com"


async def _project_at_architecture_gate(api_url: str, email: str, settings: Settings) -> str:
    """A project whose run waits at the architecture gate (the C4 diagrams)."""
    form = {"grant_type": "password", "username": email, "password": PASSWORD, "tenant": "bench"}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        await wait_ready(http)
        token = (await http.post("/api/v1/auth/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        idea = {"name": "Bench Harbour", "idea": "A booking app for small harbours and sailors."}
        project = (await http.post("/api/v1/projects", json=idea, headers=auth)).json()
        base = f"/api/v1/projects/{project['id']}"
        (await http.post(f"{base}/runs", json={}, headers=auth)).raise_for_status()
        for step in ("description", "architecture"):
            while True:
                state = (await http.get(f"{base}/runs/current", headers=auth)).json()
                if state["status"] == "awaiting_approval" and state["gate"]["step"] == step:
                    break
                await asyncio.sleep(0.1)
            if step == "description":
                decision = {"step": step, "action": "approve"}
                (await http.post(f"{base}/runs/current/decisions", json=decision, headers=auth))
    return str(project["id"])


async def _sign_in(page: Page, api_url: str, email: str) -> tuple[float, int]:
    started = time.perf_counter()
    await page.goto(f"{api_url}/app/signin")
    await page.get_by_label("Password").wait_for()
    form_ms = (time.perf_counter() - started) * 1000
    transferred = int(await page.evaluate(TRANSFERRED))
    await page.get_by_label("Team").fill("bench")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Projects", exact=True).wait_for()
    return form_ms, transferred


ALL_DRAWN = """() => document.querySelectorAll("figure.diagram svg").length > 0 &&
  document.querySelectorAll("pre > code.language-mermaid").length === 0"""


async def _gate_with_diagrams(page: Page, url: str) -> tuple[float, float, int, int]:
    """Times until the document's text shows and until every diagram is drawn; bytes on the
    wire; how many diagrams."""
    started = time.perf_counter()
    await page.goto(url)
    await page.locator("article.markdown h1").wait_for(timeout=60_000)
    text_ms = (time.perf_counter() - started) * 1000
    await page.wait_for_function(ALL_DRAWN, timeout=60_000)
    drawn_ms = (time.perf_counter() - started) * 1000
    diagrams = await page.locator("figure.diagram svg").count()
    return text_ms, drawn_ms, int(await page.evaluate(TRANSFERRED)), diagrams


async def _one_run(browser: Browser, api_url: str, email: str, project_url: str) -> dict[str, Any]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    form_ms, sign_in_bytes = await _sign_in(page, api_url, email)
    cold_text_ms, cold_ms, cold_bytes, diagrams = await _gate_with_diagrams(page, project_url)
    warm_text_ms, warm_ms, warm_bytes, _ = await _gate_with_diagrams(page, project_url)
    await context.close()
    return {
        "form_ms": form_ms,
        "sign_in_kb": sign_in_bytes / 1024,
        "cold_text_ms": cold_text_ms,
        "cold_ms": cold_ms,
        "cold_kb": cold_bytes / 1024,
        "warm_text_ms": warm_text_ms,
        "warm_ms": warm_ms,
        "warm_kb": warm_bytes / 1024,
        "diagrams": diagrams,
    }


async def main(runs: int, executable: str) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="docflow-bench-web-"))
    settings = free_port_settings(data_dir)
    try:
        async with services(settings, with_limits=False) as (api_url, run_settings):
            email = await _user(run_settings)
            project_id = await _project_at_architecture_gate(api_url, email, run_settings)
            project_url = f"{api_url}/app/projects/{project_id}"
            async with chromium(Path(executable)) as browser:
                results = [
                    await _one_run(browser, api_url, email, project_url) for _ in range(runs)
                ]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    column = {key: [result[key] for result in results] for key in results[0]}
    diagrams = int(column["diagrams"][0])
    rows = [
        ("sign-in page, empty cache: form shown", _summary(column["form_ms"])),
        ("  ... on the wire", _summary(column["sign_in_kb"], "KB")),
        ("gate, first visit: document text shown", _summary(column["cold_text_ms"])),
        (f"  ... all {diagrams} diagrams drawn (Mermaid loaded)", _summary(column["cold_ms"])),
        ("  ... on the wire (page, API, Mermaid gzipped)", _summary(column["cold_kb"], "KB")),
        ("same view again, warm cache: text shown", _summary(column["warm_text_ms"])),
        (f"  ... all {diagrams} diagrams drawn", _summary(column["warm_ms"])),
        ("  ... on the wire", _summary(column["warm_kb"], "KB")),
    ]
    for label, figures in rows:
        sys.stdout.write(f"{label:<50} {figures}\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chromium", default=str(CHROMIUM))
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.chromium))
