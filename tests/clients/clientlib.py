"""Shared by the Python client scripts: command line, assertions, and exit code 3 for a missing
library (tests/it/clients.rs turns that into "install it" rather than a wrong-answer failure)."""

import datetime
from decimal import Decimal
import argparse
import importlib
import sys

USER = "rhei"
DATABASE = "rhei"


def args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    return parser.parse_args()


def require(module):
    """Imports `module` or exits 3 naming it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        print(f"missing Python module {module!r}: {e}", file=sys.stderr)
        sys.exit(3)


def check(got, expected, what):
    """Fails with both values unless equal, and unless of the same type."""
    if got != expected or type(got) is not type(expected):
        raise AssertionError(f"{what}: got {got!r} ({type(got).__name__}), expected {expected!r} ({type(expected).__name__})")


def expect_sqlstate(sqlstate, expected, what):
    if sqlstate != expected:
        raise AssertionError(f"{what}: SQLSTATE {sqlstate!r}, expected {expected!r}")


def sqlalchemy_engine(sqlalchemy, host, port):
    """A SQLAlchemy engine on psycopg 3."""
    return sqlalchemy.create_engine(f"postgresql+psycopg://{USER}@{host}:{port}/{DATABASE}")


# The rows every DB-API client test inserts and reads back (id, name, price, ok, seen, day).
UTC = datetime.timezone.utc
SAMPLE_ROWS = [
    (1, "apple", Decimal("1.50"), True, datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), datetime.date(2024, 1, 2)),
    (2, "pear", Decimal("2.25"), False, datetime.datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC), datetime.date(2024, 2, 3)),
    (3, "plum", Decimal("10.00"), True, None, None),
    (4, "apple", Decimal("0.75"), None, datetime.datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC), datetime.date(2023, 12, 31)),
]
