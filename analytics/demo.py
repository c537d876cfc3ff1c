"""After the demo orders exist (analytics seeds last): run the nightly work once,
so segments, recommendations, rollups and demand forecasts show the demo
history at once instead of after the first night; and the two report templates
a manager starts with (周报 every Monday 08:00, 月报 on the 1st)."""

from analytics.forecasts import refresh_forecasts
from analytics.models import ReportTemplate
from analytics.reports.services import save_report_template
from analytics.rollups import refresh_rollups
from marketing.services import refresh_segments
from orders.recommendations import compute_co_purchases
from users.models import User

REPORTS = (
    ("销售周报", ReportTemplate.Kind.WEEKLY_SALES, "last_week", "0 8 * * 1"),
    ("用户分析月报", ReportTemplate.Kind.MONTHLY_USERS, "last_month", "0 9 1 * *"),
)


def seed(ctx):
    scored = refresh_segments()["scored"]
    pairs = compute_co_purchases()
    days = refresh_rollups()
    forecasts = refresh_forecasts().forecast
    ctx.say(
        f"analytics: {scored} buyers scored into segments, {pairs} bought-together "
        f"pairs, sales rolled up for {len(days)} days, {forecasts} SKUs forecast"
    )
    owner = User.objects.filter(is_superuser=True).order_by("pk").first()
    if owner is None:
        return
    for name, kind, period, schedule in REPORTS:
        if ReportTemplate.objects.filter(name=name).exists():
            continue
        save_report_template(
            template=ReportTemplate(
                name=name,
                kind=kind,
                period=period,
                schedule=schedule,
                recipients="manager@example.com",
                owner=owner,
            ),
            actor=owner,
        )
