"""Start-up checks (`manage.py check`, runserver): say plainly what is misconfigured."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from kameng.client_address import trusted_networks
from kameng.health import check_broker


@register()
def broker_reachable(app_configs, **kwargs):
    """The broker tasks go to: Redis answers, or the filesystem transport's folder
    is there and writable."""
    result = check_broker()
    if result["ok"]:
        return []
    if settings.REDIS_URL:
        hint = "Start Redis or fix REDIS_URL in .env; /healthz shows the state."
    else:
        hint = (
            "Tasks are queued as files there: make it a writable folder "
            "(it lives under KAMENG_VAR_DIR, default var/)."
        )
    return [Warning(result["error"], hint=hint, id="kameng.W001")]


@register()
def trusted_proxies_parse(app_configs, **kwargs):
    """Every TRUSTED_PROXIES entry is an address or a network."""
    try:
        trusted_networks(tuple(settings.TRUSTED_PROXIES))
    except ValueError as exc:
        return [
            Error(
                f"TRUSTED_PROXIES: {exc}",
                hint="List the reverse proxies' addresses or networks, "
                "comma-separated, e.g. TRUSTED_PROXIES=10.0.0.5,10.1.0.0/16.",
                id="kameng.E002",
            )
        ]
    return []


def sandboxes_on() -> list[str]:
    """The sandboxes switched on: each lets anyone pay, or fakes deliveries."""
    names = []
    if settings.PAYMENT_CHANNELS.get("sandbox", {}).get("enabled"):
        names.append("PAYMENT_SANDBOX_ENABLED")
    if getattr(settings, "SANDBOX_SUPPLIER_ENABLED", False):
        names.append("SANDBOX_SUPPLIER_ENABLED")
    return names


@register(Tags.security, deploy=True)
def no_sandbox_in_production(app_configs, **kwargs):
    """With DEBUG off, a sandbox on is an error unless acknowledged (staging)."""
    names = sandboxes_on()
    if settings.DEBUG or not names or settings.SANDBOX_IN_PRODUCTION_ACKNOWLEDGED:
        return []
    return [
        Error(
            f"{', '.join(names)} on with DEBUG off: anyone can pay through the "
            "sandbox gateway, and the sandbox supplier fakes deliveries.",
            hint="Switch it off, or set SANDBOX_IN_PRODUCTION_ACKNOWLEDGED=true "
            "on a staging shop that takes no real money.",
            id="kameng.E003",
        )
    ]


CSP_MIDDLEWARE = "kameng.csp.PolicyByAreaMiddleware"
# What every page's policy must say (issue 15): no script or style from elsewhere
# or inline, no plugins, never framed.
CSP_REQUIRED = {
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}


@register(Tags.security, deploy=True)
def content_security_policy(app_configs, **kwargs):
    """Production sends the strict Content-Security-Policy and refuses framing."""
    problems = []
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE:
        problems.append(f"{CSP_MIDDLEWARE} is not in MIDDLEWARE")
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get(
        "DIRECTIVES", {}
    )
    for name, value in CSP_REQUIRED.items():
        if list(directives.get(name) or []) != [value]:
            problems.append(f"{name} is {directives.get(name)!r}, not [{value!r}]")
    if getattr(settings, "X_FRAME_OPTIONS", None) != "DENY":
        problems.append("X_FRAME_OPTIONS is not DENY")
    if not problems:
        return []
    return [
        Error(
            "The Content-Security-Policy is missing or weakened: "
            + "; ".join(problems)
            + ".",
            hint="Keep CONTENT_SECURITY_POLICY and the middleware as "
            "kameng/settings.py sets them (docs/architecture.md).",
            id="kameng.E004",
        )
    ]
