"""Network failures shown by their errno text only: never the URL around it."""

from __future__ import annotations

import pytest
import requests

from sloctl.demo.local_prometheus import free_port
from sloctl.runtime.errno_text import errno_text


def test_a_refused_connection_is_connection_refused() -> None:
    url = f"http://user:pa55word@127.0.0.1:{free_port()}/services/T0/B0/s3cretpath"
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(url, timeout=5)
    assert "s3cretpath" in str(caught.value)  # requests puts the URL in its message...
    assert errno_text(caught.value) == "Connection refused"  # ...which is left out


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "Connection refused"),
        (
            OSError("Failed to resolve 'h' ([Errno -2] Name or service not known)"),
            "Name or service not known",
        ),
        (
            OSError("<conn at 0x1>: [Errno 104] Connection reset by peer'))"),
            "Connection reset by peer",
        ),
        (TimeoutError("timed out"), "TimeoutError"),
        (
            requests.ConnectionError("http://h/secret-path: Remote end closed connection"),
            "ConnectionError",
        ),
    ],
)
def test_errno_text_or_the_type_name(exc: BaseException, text: str) -> None:
    assert errno_text(exc) == text
