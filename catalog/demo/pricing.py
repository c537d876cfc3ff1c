"""Demo data: catalog pricing."""


def seed(ctx):
    return None
