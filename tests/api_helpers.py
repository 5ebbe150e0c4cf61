"""Driving a project's run through the HTTP API, as a client would."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

IDEA = "A booking app for small harbours: berths, tides and arrivals, for harbour masters."

Auth = dict[str, str]


async def poll(http: httpx.AsyncClient, url: str, auth: Auth, done: Callable[[Any], bool]) -> Any:
    """GET ``url`` until ``done(json)``; fails the test after 60 s."""
    async with asyncio.timeout(60):
        while True:
            body = (await http.get(url, headers=auth)).json()
            if done(body):
                return body
            await asyncio.sleep(0.1)


async def wait_for_gate(http: httpx.AsyncClient, base: str, auth: Auth, step: str) -> Any:
    def at_gate(state: Any) -> bool:
        assert state.get("status") != "failed", state
        return bool(state.get("gate")) and state["gate"]["step"] == step

    return await poll(http, f"{base}/runs/current", auth, at_gate)


async def decide(http: httpx.AsyncClient, base: str, auth: dict[str, str], **body: Any) -> Any:
    answer = await http.post(f"{base}/runs/current/decisions", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def create_project(http: httpx.AsyncClient, auth: dict[str, str]) -> str:
    created = await http.post(
        "/api/v1/projects",
        json={"name": "Harbour Desk", "idea": IDEA, "constraints": "Two developers."},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    return f"/api/v1/projects/{created.json()['id']}"
