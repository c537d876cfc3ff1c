from django.core.management.base import BaseCommand, CommandError

from bench.history import generate, rebuild_history_rollups


class Command(BaseCommand):
    help = (
        "Load a synthetic shop history (buyers, orders with refunds, logins, "
        "product views) with weekday, hour and holiday seasonality; prints its time. "
        "On PostgreSQL the rows are made inside the database (10,000,000 orders "
        "in minutes)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=10_000)
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=618)
        parser.add_argument(
            "--logins", type=int, help="shop logins (default: a quarter of --orders)"
        )
        parser.add_argument(
            "--views", type=int, help="product views (default: half of --orders)"
        )
        parser.add_argument(
            "--unpaid-share",
            type=float,
            default=0.0,
            help="PostgreSQL: share of the orders left unpaid (cancelled), 0 … 0.5",
        )
        parser.add_argument(
            "--row-by-row",
            action="store_true",
            help="PostgreSQL: draw the rows in Python and COPY them (the slow path)",
        )
        parser.add_argument(
            "--rollups",
            action="store_true",
            help="then rebuild the sales rollups of the history and time it",
        )

    def handle(self, *args, buyers, orders, days, seed, logins, views,
               unpaid_share, row_by_row, rollups, **options):  # fmt: skip
        if buyers < 1 or orders < 0 or days < 1:
            raise CommandError(
                "--buyers and --days must be at least 1, --orders 0 or more."
            )
        if (logins or 0) < 0 or (views or 0) < 0 or not 0 <= unpaid_share <= 0.5:
            raise CommandError(
                "--logins and --views must be 0 or more, --unpaid-share 0 … 0.5."
            )
        report = generate(
            buyers=buyers,
            orders=orders,
            days=days,
            seed=seed,
            logins=logins,
            views=views,
            unpaid_share=unpaid_share,
            row_by_row=row_by_row,
            say=self.stdout.write,
        )
        self.stdout.write(
            f"generated {report.buyers} buyers, {report.orders} orders, "
            f"{report.logins} logins, {report.views} product views "
            f"in {report.seconds} s ({report.vendor})"
        )
        if rollups:
            rows, seconds = rebuild_history_rollups(days=days)
            self.stdout.write(f"rebuilt {rows} rollup rows in {seconds} s")
