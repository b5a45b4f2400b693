"""pandas.read_sql (through SQLAlchemy and psycopg 3, and through a bare psycopg2 connection) against rhei."""

import datetime
import sys
import warnings
from decimal import Decimal

from clientlib import DATABASE, USER, args, check, require, sqlalchemy_engine

pd = require("pandas")
sqlalchemy = require("sqlalchemy")
psycopg2 = require("psycopg2")

T = "pandas_sales"


def main():
    a = args()
    engine = sqlalchemy_engine(sqlalchemy, a.host, a.port)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(
            f"CREATE TABLE {T} (id int PRIMARY KEY, region text NOT NULL, amount numeric(10,2), "
            "paid boolean, at timestamptz, day date)"
        ))
        conn.execute(
            sqlalchemy.text(f"INSERT INTO {T} VALUES (:id, :region, :amount, :paid, :at, :day)"),
            [
                {"id": i, "region": r, "amount": Decimal(amt), "paid": p,
                 "at": datetime.datetime(2024, 3, i, 12, tzinfo=datetime.timezone.utc), "day": datetime.date(2024, 3, i)}
                for i, (r, amt, p) in enumerate(
                    [("north", "10.00", True), ("south", "2.50", False), ("north", "5.25", True), ("east", "7.00", True)], start=1
                )
            ],
        )

    agg_sql = (
        f"SELECT region, count(*) AS n, sum(amount) AS total, avg(amount) AS mean "
        f"FROM {T} WHERE paid = %(paid)s GROUP BY region ORDER BY region"
    )
    df = pd.read_sql(sqlalchemy.text(agg_sql.replace("%(paid)s", ":paid")), engine, params={"paid": True}, coerce_float=False)
    check(list(df.columns), ["region", "n", "total", "mean"], "columns")
    check(list(df["region"]), ["east", "north"], "regions")
    check([int(n) for n in df["n"]], [1, 2], "counts")
    check(str(df["n"].dtype), "int64", "count dtype")
    check(list(df["total"]), [Decimal("7.00"), Decimal("15.25")], "sums")
    check([type(v) for v in df["total"]], [Decimal, Decimal], "sums are Decimal objects")
    check(str(df["total"].dtype), "object", "Decimal column dtype")
    check(round(float(df["mean"][1]), 3), 7.625, "avg")

    # coerce_float turns Decimals into floats; parse_dates keeps timestamptz as datetime64 UTC.
    df = pd.read_sql(f"SELECT id, amount, at, day FROM {T} ORDER BY id", engine, coerce_float=True, parse_dates=["day"])
    check(str(df["amount"].dtype), "float64", "coerced numeric dtype")
    check(float(df["amount"].sum()), 24.75, "amount total")
    check(str(df["at"].dtype), "datetime64[ns, UTC]", "timestamptz dtype")
    check(df["at"][0], pd.Timestamp("2024-03-01 12:00:00", tz="UTC"), "first timestamp")
    check(str(df["day"].dtype), "datetime64[ns]", "date parsed")
    check(df["id"].dtype.kind, "i", "id is an integer column")

    frame = pd.DataFrame({"id": [10, 11], "region": ["west", "west"], "amount": [1.5, 2.5]})
    frame.to_sql(T, engine, if_exists="append", index=False)
    total = pd.read_sql(f"SELECT sum(amount) AS s, count(*) AS c FROM {T} WHERE region = 'west'", engine)
    check(float(total["s"][0]), 4.0, "to_sql then sum")
    check(str(total["s"].dtype), "float64", "sum(numeric) coerced to float by default")
    check(int(total["c"][0]), 2, "to_sql count")

    # A DBAPI connection without SQLAlchemy (pandas warns but supports it).
    raw = psycopg2.connect(host=a.host, port=a.port, user=USER, dbname=DATABASE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        df = pd.read_sql(agg_sql, raw, params={"paid": False})
    check(df.to_dict("records"), [{"region": "south", "n": 1, "total": Decimal("2.50"), "mean": Decimal("2.5000000000000000")}], "psycopg2 read_sql")
    raw.close()
    engine.dispose()
    print("pandas: ok")


if __name__ == "__main__":
    sys.exit(main())
