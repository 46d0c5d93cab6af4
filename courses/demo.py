"""Demo data for this app, called by `manage.py load_demo` after the organisation tree exists."""


def load(ctx) -> None:
    """Fill in this app's demo data. `ctx` is portal.demo.DemoContext."""
