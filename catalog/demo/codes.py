"""Demo data: catalog codes."""


def seed(ctx):
    return None
