"""The stylesheet, script and images the pages use, shipped in the package (no CDN: the UI
works with no internet). Each is served at ``/static/NAME?v=HASH``, so a new sloctl's assets
are never hidden by a browser's cache of the old ones."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources

from sloctl.web.response import Response

PREFIX = "/static/"

KINDS = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@dataclass
class Assets:
    """Every file of ``sloctl/web/static``, read once."""

    files: dict[str, bytes] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.files:
            folder = resources.files("sloctl.web") / "static"
            for entry in folder.iterdir():
                name = entry.name
                if entry.is_file() and any(name.endswith(kind) for kind in KINDS):
                    self.files[name] = entry.read_bytes()
        for name, body in self.files.items():
            self.versions[name] = hashlib.sha256(body).hexdigest()[:12]

    def url(self, name: str) -> str:
        """Where the page links ``name`` (a file that does not ship is a template bug)."""
        return f"{PREFIX}{name}?v={self.versions[name]}"

    def answer(self, path: str) -> Response | None:
        """The asset at ``path``, or None when ``path`` names none."""
        if not path.startswith(PREFIX):
            return None
        name = path[len(PREFIX) :]
        body = self.files.get(name)
        if body is None:
            return None
        kind = next(kind for suffix, kind in KINDS.items() if name.endswith(suffix))
        return Response(200, body, kind, cache="public, max-age=31536000, immutable")
