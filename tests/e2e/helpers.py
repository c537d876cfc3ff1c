"""Viewports and the page watcher shared by the browser tests."""

from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page, Request, Response

from tests.otp import authenticator, next_code
from users.models import Authenticator, User

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


def pass_two_factor(page: Page, username: str) -> None:
    """After the password on /admin/login/, the second step as the person does
    it: type the code their authenticator app shows now. A super admin or
    finance member without an authenticator sets one up first (the QR page, the
    first code, the recovery codes). Other staff without one go straight on."""
    page.wait_for_load_state()
    if "/admin/me/two-factor/" not in page.url:
        return
    user = User.objects.get(username=username)
    if "/two-factor/verify/" in page.url:
        page.get_by_test_id("code-input").fill(next_code(authenticator(user)))
        page.get_by_test_id("two-factor-verify-form").get_by_role("button").click()
    else:
        scanned = Authenticator.objects.get(user=user, confirmed=False)
        page.get_by_test_id("code-input").fill(next_code(scanned))
        page.get_by_test_id("two-factor-setup-form").get_by_role("button").click()
        page.get_by_test_id("recovery-codes-done").click()
    page.wait_for_load_state()
