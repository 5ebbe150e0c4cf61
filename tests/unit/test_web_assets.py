"""The web app's files: local only (no CDN), vendored files as recorded (packaging:
tests/unit/test_packaging.py)."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser

from api.routes.web import WEB_DIR

ROOT = WEB_DIR.parent.parent
VENDOR = WEB_DIR / "assets" / "vendor"
OWN_SCRIPTS = [path for path in (WEB_DIR / "assets").rglob("*.js") if VENDOR not in path.parents]
# import/export ... from "specifier" (over several lines too), and import("specifier")
IMPORT = re.compile(
    r"""^(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)""", re.M
)


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.found.append(value)


def test_the_page_loads_nothing_from_another_origin() -> None:
    parser = _References()
    parser.feed((WEB_DIR / "index.html").read_text())
    assert parser.found, "the page references its scripts and styles"
    for reference in parser.found:
        assert reference.startswith(("/app/assets/", "/docs", "data:")), reference


def test_every_module_import_is_local_and_exists() -> None:
    assert OWN_SCRIPTS
    for script in OWN_SCRIPTS:
        for static, dynamic in IMPORT.findall(script.read_text()):
            specifier = static or dynamic
            assert specifier.startswith("./") or specifier.startswith("../"), (script, specifier)
            assert (script.parent / specifier).resolve().is_file(), (script, specifier)


def test_vendored_files_are_the_recorded_npm_releases() -> None:
    recorded = json.loads((VENDOR / "VENDOR.json").read_text())
    packages = {entry["package"] for entry in recorded}
    assert packages == {"htm", "marked", "dompurify", "mermaid", "swagger-ui-dist"}
    for entry in recorded:
        data = (VENDOR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
    listed = {entry["file"] for entry in recorded} | {"VENDOR.json"}
    assert {path.name for path in VENDOR.iterdir()} == listed
