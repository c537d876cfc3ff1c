"""The back office's colours as a stylesheet, not an inline <style> (issue 15).

django-unfold writes its theme colours (CSS variables) into every page as an
inline <style> element, which the Content-Security-Policy's style-src 'self'
refuses. So UNFOLD["COLORS"] gives unfold no colours (`no_inline_colours`: its
template then writes no <style>) and static/kameng/admin-theme.css, listed in
UNFOLD["STYLES"], sets the same variables: unfold's default palette with
Kameng's own primary colour (PRIMARY below).

Changing the colours: edit PRIMARY, then rewrite the stylesheet with
`.venv/bin/python manage.py admin_theme_css > static/kameng/admin-theme.css`
(tests/kameng/test_csp.py fails while the file and this module disagree).
"""

from __future__ import annotations

from pathlib import Path

STYLESHEET = Path(__file__).resolve().parent.parent / "static/kameng/admin-theme.css"

# Kameng red (Tailwind's red scale), replacing unfold's purple.
PRIMARY = {
    "50": "oklch(97.1% .013 17.38)",
    "100": "oklch(93.6% .032 17.717)",
    "200": "oklch(88.5% .062 18.334)",
    "300": "oklch(80.8% .114 19.571)",
    "400": "oklch(70.4% .191 22.216)",
    "500": "oklch(63.7% .237 25.331)",
    "600": "oklch(57.7% .245 27.325)",
    "700": "oklch(50.5% .213 27.518)",
    "800": "oklch(44.4% .177 26.899)",
    "900": "oklch(39.6% .141 25.723)",
    "950": "oklch(25.8% .092 26.042)",
}


def no_inline_colours(request) -> dict:
    """UNFOLD["COLORS"]: none, so unfold's pages carry no inline <style>."""
    return {}


def palette() -> dict[str, dict[str, str]]:
    """unfold's default colours with Kameng's primary."""
    from unfold.settings import CONFIG_DEFAULTS
    from unfold.utils import convert_color

    colours = {
        name: dict(weights) for name, weights in CONFIG_DEFAULTS["COLORS"].items()
    }
    colours["primary"] = dict(PRIMARY)
    return {
        name: {weight: convert_color(value) for weight, value in weights.items()}
        for name, weights in colours.items()
    }


def theme_css() -> str:
    """The stylesheet's text: every colour as a CSS variable on :root."""
    lines = [
        "/* The back office's theme colours (written by kameng/admin_theme.py:",
        "   manage.py admin_theme_css; do not edit by hand). */",
        ":root {",
    ]
    for name, weights in palette().items():
        lines.extend(
            f"  --color-{name}-{weight}: {value};" for weight, value in weights.items()
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
