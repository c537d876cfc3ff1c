"""Demo data: catalog inventory."""


def seed(ctx):
    return None
