"""The console works with no internet: no template or page loads an asset from another host."""

import re
from pathlib import Path

from tests.conftest import ROOT

ASSET = re.compile(r'(?:src|href)="(?:https?:)?//', re.IGNORECASE)


def test_no_template_references_an_outside_asset():
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in ROOT.glob("**/templates/**/*.html")
        if ".venv" not in path.parts and "node_modules" not in path.parts
        for match in ASSET.finditer(path.read_text())
    ]
    assert offenders == []


def test_api_docs_page_serves_swagger_from_this_server(client, db):
    html = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert not ASSET.search(html)


def test_htmx_comes_from_the_bundled_copy(client_as):
    html = client_as("viewer").get("/").content.decode()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert any("django_htmx/htmx" in s for s in scripts), scripts
    assert all(s.startswith("/static/") for s in scripts), scripts
    assert Path(ROOT, "static/console/app.js").exists()
