"""After the demo orders exist (analytics seeds last): run the nightly work once,
so segments, recommendations, rollups and demand forecasts show the demo
history at once instead of after the first night."""

from analytics.forecasts import refresh_forecasts
from analytics.rollups import refresh_rollups
from marketing.services import refresh_segments
from orders.recommendations import compute_co_purchases


def seed(ctx):
    scored = refresh_segments()["scored"]
    pairs = compute_co_purchases()
    days = refresh_rollups()
    forecasts = refresh_forecasts().forecast
    ctx.say(
        f"analytics: {scored} buyers scored into segments, {pairs} bought-together "
        f"pairs, sales rolled up for {len(days)} days, {forecasts} SKUs forecast"
    )
