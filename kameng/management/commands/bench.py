import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import autodiscover_modules

from kameng.bench import REGISTRY


def _discover():
    autodiscover_modules("benchmarks")
    return REGISTRY


class Command(BaseCommand):
    help = "Run one benchmark; its figures are the JSON object on the last line."

    def add_arguments(self, parser):
        registry = _discover()
        sub = parser.add_subparsers(dest="name", metavar="NAME")
        sub.required = False
        parser.add_argument("--list", action="store_true", help="List benchmark names.")
        for bench in registry.values():
            bench_parser = sub.add_parser(bench.name, help=bench.help)
            for flag, options in bench.arguments:
                bench_parser.add_argument(flag, **options)

    def handle(self, *args, name=None, list=False, **options):
        registry = _discover()
        if list or not name:
            for bench in sorted(registry.values(), key=lambda b: b.name):
                self.stdout.write(f"{bench.name}\t{bench.help}")
            if not name:
                return
        bench = registry.get(name)
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
