"""Demo data: catalog suppliers."""


def seed(ctx):
    return None
