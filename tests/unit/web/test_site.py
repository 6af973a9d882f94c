"""A web site behind real sockets: routes, assets, refusals and the security headers every
answer carries."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import requests

from sloctl.runtime.logs import make_logger
from sloctl.web.assets import Assets
from sloctl.web.request import MAX_FIELDS, MAX_FORM_BYTES, Request
from sloctl.web.response import CONTENT_SECURITY_POLICY, Response, html, redirect, site_path
from sloctl.web.site import WebSite, route
from tests.web_site import serving


def _echo(request: Request, match: re.Match[str]) -> Response:
    return html(f"<p>{match['name']} {request.field('note')}</p>")


def _broken(_request: Request, _match: re.Match[str]) -> Response:
    raise RuntimeError("a page bug")


def _site(stream: StringIO) -> WebSite:
    routes = (
        route("GET", r"/hello/(?P<name>[a-z]+)", _echo),
        route("POST", r"/hello/(?P<name>[a-z]+)", _echo),
        route("GET", r"/broken", _broken),
        route("GET", r"/away", lambda _r, _m: redirect("//evil.example/")),
        route(
            "GET",
            r"/split",
            lambda _r, _m: Response(200, b"", headers={"X-Next": "a\r\nSet-Cookie: x=1"}),
        ),
    )
    return WebSite(routes, Assets(), make_logger("info", stream=stream))


def test_every_answer_carries_the_security_headers() -> None:
    with serving(_site(StringIO())) as base:
        for path in ("/hello/you", "/broken", "/static/sloctl.css"):
            answer = requests.get(base + path, timeout=5)
            assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["X-Frame-Options"] == "DENY"


def test_routes_answer_and_unknown_paths_are_left_to_the_server() -> None:
    with serving(_site(StringIO())) as base:
        assert requests.get(f"{base}/hello/you", timeout=5).text == "<p>you </p>"
        assert requests.get(f"{base}/hello/You", timeout=5).status_code == 404
        assert requests.get(f"{base}/nowhere", timeout=5).status_code == 404
        posted = requests.post(f"{base}/hello/me", data={"note": "hi"}, timeout=5)
        assert posted.text == "<p>me hi</p>"
        assert posted.headers["Cache-Control"] == "no-store"


def test_a_wrong_method_is_405_with_allow() -> None:
    with serving(_site(StringIO())) as base:
        answer = requests.delete(f"{base}/hello/you", timeout=5)
        assert answer.status_code in {404, 501}  # the server has no DELETE at all
        refused = requests.post(f"{base}/broken", data={}, timeout=5)
        assert refused.status_code == 405
        assert refused.headers["Allow"] == "GET"


def test_a_failing_page_is_500_and_logged_and_the_site_goes_on() -> None:
    stream = StringIO()
    with serving(_site(stream)) as base:
        assert requests.get(f"{base}/broken", timeout=5).status_code == 500
        assert requests.get(f"{base}/hello/again", timeout=5).status_code == 200
    assert '"event": "page_failed"' in stream.getvalue()
    assert "a page bug" in stream.getvalue()


def test_forms_are_bounded_and_must_be_url_encoded() -> None:
    with serving(_site(StringIO())) as base:
        big = requests.post(f"{base}/hello/me", data={"note": "x" * MAX_FORM_BYTES}, timeout=5)
        assert big.status_code == 413
        as_json = requests.post(f"{base}/hello/me", json={"note": "x"}, timeout=5)
        assert as_json.status_code == 415


def test_assets_are_versioned_and_cached_and_redirects_stay_on_the_site() -> None:
    assets = Assets()
    url = assets.url("sloctl.css")
    assert re.fullmatch(r"/static/sloctl\.css\?v=[0-9a-f]{12}", url)
    with serving(_site(StringIO())) as base:
        answer = requests.get(base + url, timeout=5)
        assert answer.headers["Content-Type"] == "text/css; charset=utf-8"
        assert "immutable" in answer.headers["Cache-Control"]
        assert b"prefers-color-scheme: dark" in answer.content
        assert requests.get(f"{base}/static/../pyproject.toml", timeout=5).status_code == 404
        away = requests.get(f"{base}/away", allow_redirects=False, timeout=5)
        assert away.status_code == 303
        assert away.headers["Location"] == "/"


def test_a_header_with_a_line_break_is_never_sent() -> None:
    stream = StringIO()
    with serving(_site(stream)) as base:
        answer = requests.get(f"{base}/split", timeout=5)
    assert answer.status_code == 500
    assert "Set-Cookie" not in answer.headers
    assert "line break" in stream.getvalue()


def test_head_has_the_headers_and_no_body_and_too_many_fields_are_a_400() -> None:
    with serving(_site(StringIO())) as base:
        head = requests.head(f"{base}/hello/you", timeout=5)
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        many = "&".join(f"f{n}=1" for n in range(MAX_FIELDS + 1))
        assert requests.get(f"{base}/hello/you?{many}", timeout=5).status_code == 400


@pytest.mark.parametrize(
    ("wanted", "kept"),
    [
        ("/incidents/INC-0001?all=1", "/incidents/INC-0001?all=1"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/a\r\nSet-Cookie: x=1", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/\N{SNOWMAN}", "/"),
        ("", "/"),
    ],
)
def test_only_paths_of_this_site_are_kept(wanted: str, kept: str) -> None:
    assert site_path(wanted) == kept
