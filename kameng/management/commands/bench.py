import json

from django.core.management.base import BaseCommand, CommandError

from bench.suite import REGISTRY


class Command(BaseCommand):
    help = "Run one benchmark; its figures are the JSON object on the last line."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="name", metavar="NAME")
        sub.required = False
        parser.add_argument("--list", action="store_true", help="List benchmark names.")
        for bench in REGISTRY.values():
            bench_parser = sub.add_parser(bench.name, help=bench.help)
            for flag, options in bench.arguments:
                bench_parser.add_argument(flag, **options)

    def handle(self, *args, name=None, list=False, **options):
        if list or not name:
            for bench in sorted(REGISTRY.values(), key=lambda b: b.name):
                self.stdout.write(f"{bench.name}\t{bench.help}")
            if not name:
                return
        bench = REGISTRY.get(name)
        if bench is None:
            raise CommandError(f"Unknown benchmark {name!r}; try --list.")
        kwargs = {
            flag.lstrip("-").replace("-", "_"): options[
                flag.lstrip("-").replace("-", "_")
            ]
            for flag, _opts in bench.arguments
        }
        figures = bench.func(stdout=self.stdout, **kwargs)
        self.stdout.write(
            json.dumps({"bench": name, **figures}, ensure_ascii=False, default=str)
        )
