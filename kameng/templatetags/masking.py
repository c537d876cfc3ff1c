"""{% load masking %} {{ order.contact|masked_contact }}: a contact as lists show
it (kameng.masking; who sees it in full is users.contacts)."""

from django import template

from kameng.masking import mask_contact

register = template.Library()


@register.filter
def masked_contact(value):
    return mask_contact(value)
