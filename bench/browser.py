"""A buyer's HTTP session for load tests, as a browser holds one."""

from __future__ import annotations

import http.client
import time
from email.message import Message
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


class Browser:
    """One persistent (keep-alive) HTTP/1.1 connection, cookies, the CSRF token,
    every response read to the end.

    urllib is not used on purpose: it asks for ``Connection: close`` on every request
    and leaves an unread response's socket open until garbage collection. gunicorn's
    gthread worker closes such a connection on its event-loop thread and lingers up to
    two seconds for the client's FIN (RFC 9112 section 9.6), so each leaked socket
    stalls a whole worker: that, not Kameng, is what a urllib client measures."""

    IDLE_SECONDS = 1.0  # well under a server's keep-alive

    def __init__(self, base_url: str):
        address = urlsplit(base_url)
        self.base = base_url
        self.cookies: dict[str, str] = {}
        self.used = 0.0
        self.connection = http.client.HTTPConnection(
            address.hostname, address.port, timeout=30
        )

    def close(self) -> None:
        self.connection.close()

    def csrf(self) -> str:
        return self.cookies["csrftoken"]

    def get(self, path: str) -> tuple[int, Message, str]:
        return self._send("GET", path, None, {})

    def post(
        self, path: str, data: dict, headers: dict | None = None
    ) -> tuple[int, Message, str]:
        body = urlencode({**data, "csrfmiddlewaretoken": self.csrf()})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": self.base + path,
            **(headers or {}),
        }
        return self._send("POST", path, body, headers)

    def _send(self, method, path, body, headers) -> tuple[int, Message, str]:
        if time.monotonic() - self.used > self.IDLE_SECONDS:
            self.connection.close()  # the server has dropped it (or is about to)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()  # reconnects on the next request
        self.used = time.monotonic()
        return response.status, response.headers, text
