"""English strings of other people's code that our catalogue translates.

`make messages` (makemessages --no-obsolete) keeps in locale/zh_Hans only the
msgids it finds in this project's files and drops every other entry, so a
translation we give a library's string has to be findable here. Each string
below is copied byte for byte from the library (whitespace, placeholders and
plural forms included): a page looks the library's exact msgid up, and our
catalogue (LOCALE_PATHS) wins over the apps' own. Nothing needs to import this
module: makemessages reads the file. tests/kameng/test_messages.py checks that
`make messages` keeps every entry of the catalogue.

Add a string here only when the library ships no zh_Hans translation for it (or
one that reads wrongly beside ours), and say which library it is from.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

# django-unfold (the admin's theme) ships no locale at all: its templates, forms,
# widgets and filters.
UNFOLD = (
    gettext_noop("Select record"),
    gettext_noop("Select action"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    gettext_noop("Not enough data."),
    gettext_noop("Add new item"),
    gettext_noop("Paragraph"),
    gettext_noop("Underlined"),
    gettext_noop("Bold"),
    gettext_noop("Italic"),
    gettext_noop("Strike"),
    gettext_noop("Link"),
    gettext_noop("Heading"),
    gettext_noop("Quote"),
    gettext_noop("Unordered list"),
    gettext_noop("Ordered list"),
    gettext_noop("Indent increase"),
    gettext_noop("Indent decrease"),
    gettext_noop("Undo"),
    gettext_noop("Redo"),
    gettext_noop("Enter an URL"),
    gettext_noop("Unlink"),
    gettext_noop("Select action to run"),
    gettext_noop(
        "Raw passwords are not stored, so there is no way to see this user’s "
        "password, but you can change the password using "
        '<a href="{}" class="text-primary-600 dark:text-primary-500">this form</a>.'
    ),
    gettext_noop("Select value"),
    gettext_noop("Dataset not found. No action performed."),
    gettext_noop("You can not create nested object without parent"),
    gettext_noop("Run"),
    gettext_noop(
        "After you've created a user, you’ll be able to edit more user options."
    ),
    gettext_noop("Filters"),
    gettext_noop("Expand row"),
    gettext_noop("Welcome back to"),
    gettext_noop("Type to search"),
    gettext_noop("You have been successfully logged out from the administration"),
    gettext_noop("No data"),
    gettext_noop("More actions"),
    gettext_noop("All applications"),
    gettext_noop("True"),
    gettext_noop("False"),
    gettext_noop("Apply Filters"),
    gettext_noop("Select all rows"),
    gettext_noop("Recent searches"),
    gettext_noop("No recent searches"),
    gettext_noop("No results matching your query"),
    gettext_noop("Loading more results..."),
    ngettext_lazy(
        "\n                Found %(counter)s result in %(time)s seconds\n            ",
        "\n                Found %(counter)s results in %(time)s seconds\n            ",
    ),
    gettext_noop("Cancel"),
    gettext_noop("Record picture"),
    gettext_noop("This item will be deleted."),
    gettext_noop("Click to cancel"),
    gettext_noop("No results found"),
    gettext_noop(
        "This page yielded into no results. Create a new item or reset your filters."
    ),
    gettext_noop("Reset filters"),
    gettext_noop("Image preview"),
    gettext_noop("Click to download"),
    gettext_noop("Go back"),
    gettext_noop("Previous"),
    gettext_noop("Next"),
    gettext_noop("Search apps and models..."),
    gettext_noop("General"),
    gettext_noop("Light"),
    gettext_noop("Dark"),
    gettext_noop("System"),
    gettext_noop("Return to site"),
    gettext_noop("Choose file to upload"),
    gettext_noop("Toggle password visibility"),
    gettext_noop("Date"),
    gettext_noop("Select currency"),
    gettext_noop("Code"),
    gettext_noop("Submit"),
    gettext_noop("Welcome"),
)

# django-celery-beat ships a zh_Hans catalogue without these: the periodic task
# admin's fieldsets, crontab help texts and the enable/disable/toggle messages.
CELERY_BEAT = (
    gettext_noop("Arguments"),
    gettext_noop("Execution Options"),
    gettext_noop("Periodic Tasks Using This Schedule"),
    gettext_noop(
        'Cron Months (1-12) Of The Year to Run. Use "*" for "all". (Example: "1,12")'
    ),
    gettext_noop(
        'Cron Days Of The Week to Run. Use "*" for "all", Sunday is 0 or 7, '
        'Monday is 1. (Example: "0,5")'
    ),
    ngettext_lazy(
        "{0} task was successfully enabled",
        "{0} tasks were successfully enabled",
    ),
    ngettext_lazy(
        "{0} task was successfully disabled",
        "{0} tasks were successfully disabled",
    ),
    ngettext_lazy(
        "{0} task was successfully toggled",
        "{0} tasks were successfully toggled",
    ),
)

# django-guardian's app has no verbose_name: Django names it "Guardian", which
# kameng/permission_names.py shows translated beside each object permission.
GUARDIAN = (gettext_noop("Guardian"),)

# Django's password validators: its zh_Hans catalogue has the length rule only
# under its older msgid (with %(min_length)d), and we word the similarity rule
# our way.
DJANGO_AUTH = (
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
)
