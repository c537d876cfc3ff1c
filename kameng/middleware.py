import re
import uuid

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers

from kameng import audit, modules
from kameng.logging import request_id_var

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Tag the request, its log lines and its response with one id.

    A proxy's X-Request-ID is kept when it looks like an id; anything else is
    replaced, so a client cannot inject text into our logs. Also the scope in
    which the module switches are read once per request (kameng.modules).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.id)
        try:
            with modules.request_scope():
                response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.id
        return response


class ChineseFirstLocaleMiddleware:
    """Chinese unless the person chose English with the language switcher.

    Django's LocaleMiddleware follows the browser's Accept-Language, which would show
    English to every operator whose browser was installed in English. Our users are
    Chinese-speaking, so only the explicit choice (the language cookie) counts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class AuditScopeMiddleware:
    """Lets kameng.audit.record know the client's address (and count the rows a
    request records) without any service seeing the request. No query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit.request_scope(request):
            return self.get_response(request)
