"""The URL converter for order and wallet top-up numbers: `<order_no:…>`.

Registered when this module is first imported (by the URL modules that use it).
A number is ASCII letters and digits, at most as long as its column: anything
else in its place (a NUL byte, other scripts, 5,000 characters) is "no such
page" before any view or query sees it, never a database error."""

from django.urls import register_converter


class OrderNumberConverter:
    regex = "[A-Za-z0-9]{1,24}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(OrderNumberConverter, "order_no")
