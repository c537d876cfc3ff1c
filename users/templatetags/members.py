"""`{% member_level user as level %}`: the buyer's member level from this
process's copy of the levels (users.levels.ordered_levels, read again whenever
a level changes). The shop's header shows the level's badge on every page,
where `user.member_level` cost each leveled buyer a query per page (issue 12)."""

from django import template

from users.levels import ordered_levels

register = template.Library()


@register.simple_tag
def member_level(user):
    level_id = getattr(user, "member_level_id", None)
    if level_id is None:
        return None
    return next((level for level in ordered_levels() if level.pk == level_id), None)
