"""The module switches page: every optional module (kameng.modules), what it
does, whether it is on, and a button to switch it."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kameng import modules
from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page

PERMISSION = "kameng.switch_modules"

register_page(
    Page(
        app_label="marketing",
        title=gettext_lazy("Module switches"),
        url_name="module_switches",
        permission=PERMISSION,
        icon="toggle_on",
    )
)


@staff_page(PERMISSION)
@require_http_methods(["GET", "POST"])
def module_switches(request):
    if request.method == "POST":
        code = request.POST.get("module", "")
        wanted = request.POST.get("enabled") == "1"
        if code not in modules.MODULES:
            messages.error(request, _("There is no such module."))
        else:
            modules.switch_module(code=code, enabled=wanted, actor=request.user)
            title = modules.MODULES[code].title
            if wanted:
                messages.success(
                    request, _("%(module)s is switched on.") % {"module": title}
                )
            else:
                messages.success(
                    request,
                    _("%(module)s is switched off; its data is kept.")
                    % {"module": title},
                )
        return redirect("module_switches")
    states = modules.states()
    rows = [
        {"module": module, "enabled": states[module.code]}
        for module in modules.registered()
    ]
    return render_page(
        request,
        "admin/kameng/module_switches.html",
        {"rows": rows, "page_id": "module-switches"},
        title=_("Module switches"),
    )
