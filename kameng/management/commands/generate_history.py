from django.core.management.base import BaseCommand, CommandError

from bench.history import generate


class Command(BaseCommand):
    help = (
        "Load a synthetic shop history (buyers, orders with refunds, logins, "
        "product views) with weekday, hour and holiday seasonality; prints its time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=10_000)
        parser.add_argument("--orders", type=int, default=100_000)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=618)

    def handle(self, *args, buyers, orders, days, seed, **options):
        if buyers < 1 or orders < 0 or days < 1:
            raise CommandError(
                "--buyers and --days must be at least 1, --orders 0 or more."
            )
        report = generate(
            buyers=buyers, orders=orders, days=days, seed=seed, say=self.stdout.write
        )
        self.stdout.write(
            f"generated {report.buyers} buyers, {report.orders} orders, "
            f"{report.logins} logins, {report.views} product views "
            f"in {report.seconds} s ({report.vendor})"
        )
