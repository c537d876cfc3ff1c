"""Viewports and the page watcher shared by the browser tests."""

from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Request, Response

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
    },
}


class PageWatcher:
    """Collects everything on a page that a user or the console would flag."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} ({where})")

    def _on_request_failed(self, request: Request) -> None:
        # Chromium aborts what is still loading when the page navigates away (a
        # favicon during a form post, say): no fault of the page. A file that is
        # really missing still answers 404, which _on_response reports.
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(
            f"request failed: {request.method} {request.url} ({request.failure})"
        )

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    def assert_clean(self) -> None:
        assert not self.problems, "The page reported problems:\n" + "\n".join(
            self.problems
        )


def screenshot(page: Page, path: str | Path, *, full_page: bool = True) -> None:
    """Save what the user sees, with transitions finished rather than mid-fade."""
    page.screenshot(path=path, full_page=full_page, animations="disabled")
