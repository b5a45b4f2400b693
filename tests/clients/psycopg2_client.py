"""psycopg2 (client-side parameter interpolation, simple protocol, text results) against rhei."""

import datetime
import ipaddress
import sys
from decimal import Decimal

from clientlib import DATABASE, USER, args, check, expect_sqlstate, require, SAMPLE_ROWS as ROWS, UTC

psycopg2 = require("psycopg2")
errorcodes = require("psycopg2.errorcodes")
extras = require("psycopg2.extras")

T = "psycopg2_items"


def main():
    a = args()
    conn = psycopg2.connect(host=a.host, port=a.port, user=USER, dbname=DATABASE)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(
        f"CREATE TABLE {T} (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
        "ok boolean, seen timestamptz, day date)"
    )
    cur.executemany(f"INSERT INTO {T} (id, name, price, ok, seen, day) VALUES (%s, %s, %s, %s, %s, %s)", ROWS[:2])
    extras.execute_values(cur, f"INSERT INTO {T} (id, name, price, ok, seen, day) VALUES %s", ROWS[2:])
    check(cur.rowcount, 2, "execute_values rowcount")

    cur.execute(f"SELECT id, name, price, ok, seen, day FROM {T} WHERE id >= %s ORDER BY id", (1,))
    names = [d.name for d in cur.description]
    check(names, ["id", "name", "price", "ok", "seen", "day"], "column names")
    # psycopg2 picks the Python type from the column's type OID.
    check([d.type_code for d in cur.description], [23, 25, 1700, 16, 1184, 1082], "column type OIDs")
    got = cur.fetchall()
    check(len(got), len(ROWS), "row count")
    for row, expected in zip(got, ROWS):
        for i, (g, e) in enumerate(zip(row, expected)):
            check(g, e, f"row {expected[0]} column {names[i]}")

    cur.execute(
        f"SELECT id FROM {T} WHERE name = %(name)s AND price = %(price)s AND day = %(day)s",
        {"name": "pear", "price": Decimal("2.25"), "day": datetime.date(2024, 2, 3)},
    )
    check(cur.fetchall(), [(2,)], "named parameters")
    cur.execute(f"SELECT id FROM {T} WHERE id IN %s ORDER BY id", ((1, 3),))
    check(cur.fetchall(), [(1,), (3,)], "tuple parameter")
    cur.execute(f"SELECT name FROM {T} WHERE name LIKE %s AND seen < %s ORDER BY id", ("a%", datetime.datetime(2024, 6, 1, tzinfo=UTC)))
    check(cur.fetchall(), [("apple",), ("apple",)], "LIKE and timestamptz parameters")

    # A named (server-side) cursor fetches in pieces (itersize) inside a transaction.
    conn.autocommit = False
    named = conn.cursor(name="psycopg2_named")
    named.itersize = 2
    named.execute(f"SELECT id, name FROM {T} ORDER BY id")
    check(named.fetchmany(1), [(ROWS[0][0], ROWS[0][1])], "named cursor fetchmany")
    check([r[0] for r in named], [r[0] for r in ROWS[1:]], "named cursor iteration")
    named.close()
    conn.commit()
    conn.autocommit = True

    dict_cur = conn.cursor(cursor_factory=extras.RealDictCursor)
    dict_cur.execute(
        f"SELECT name, count(*) AS n, sum(price) AS total, avg(price) AS mean, max(seen) AS last FROM {T} "
        "GROUP BY name ORDER BY name"
    )
    agg = dict_cur.fetchall()
    check([(r["name"], r["n"]) for r in agg], [("apple", 2), ("pear", 1), ("plum", 1)], "group by counts")
    check(agg[0]["total"], Decimal("2.25"), "sum(numeric)")
    check(round(agg[0]["mean"], 3), Decimal("1.125"), "avg(numeric)")
    check(agg[0]["last"], ROWS[0][4], "max(timestamptz)")
    check(agg[2]["last"], None, "max of only NULLs")

    # interval columns: psycopg2 sends datetime.timedelta as '1 days 7200.000000 seconds'
    # (Django's DurationField) and reads PostgreSQL's interval text back as one.
    cur.execute("CREATE TABLE psycopg2_waits (id int PRIMARY KEY, took interval)")
    cur.execute("INSERT INTO psycopg2_waits VALUES (%s, %s), (%s, %s)", (1, datetime.timedelta(days=1, hours=2), 2, datetime.timedelta(minutes=-90)))
    cur.execute("SELECT took FROM psycopg2_waits WHERE took > %s ORDER BY id", (datetime.timedelta(hours=1),))
    check(cur.fetchall(), [(datetime.timedelta(days=1, hours=2),)], "interval parameter and result")
    cur.execute("SELECT avg(took), min(took) FROM psycopg2_waits")
    check(cur.fetchone(), (datetime.timedelta(hours=12, minutes=15), datetime.timedelta(minutes=-90)), "avg and min of intervals")

    # Array columns (Django's ArrayField): psycopg2 writes a list inline as ARRAY['a', 'b'] (an
    # empty one as '{}') and reads PostgreSQL's array text back as a list; Django casts a
    # list compared with a varchar(n)[] column to that type.
    cur.execute("CREATE TABLE psycopg2_posts (id int PRIMARY KEY, tags varchar(10)[] NOT NULL DEFAULT '{}', scores int[])")
    cur.execute("INSERT INTO psycopg2_posts VALUES (%s, %s, %s), (%s, %s, %s)", (1, ["a", "b c", None], [3, 1], 2, [], None))
    cur.execute("UPDATE psycopg2_posts SET tags = array_append(tags, %s) WHERE id = %s", ("new", 2))
    cur.execute("SELECT id, tags, scores FROM psycopg2_posts WHERE %s = ANY (tags) OR tags @> %s::varchar(10)[] ORDER BY id", ("new", ["a"]))
    check(cur.fetchall(), [(1, ["a", "b c", None], [3, 1]), (2, ["new"], None)], "array columns and list parameters")
    cur.execute("SELECT tags[1], cardinality(tags) FROM psycopg2_posts WHERE id = %s", (1,))
    check(cur.fetchone(), ("a", 3), "subscript and cardinality")

    # Transactions: psycopg2 opens one implicitly when autocommit is off.
    conn.autocommit = False
    cur.execute(f"INSERT INTO {T} (id, name) VALUES (%s, %s)", (10, "ghost"))
    cur.execute(f"DELETE FROM {T} WHERE id = %s", (1,))
    check(cur.rowcount, 1, "delete rowcount")
    cur.execute(f"SELECT count(*) FROM {T}")
    check(cur.fetchone(), (4,), "count inside the transaction")
    conn.rollback()
    cur.execute(f"SELECT count(*), sum(price) FROM {T}")
    check(cur.fetchone(), (4, Decimal("14.50")), "after rollback")
    cur.execute(f"UPDATE {T} SET price = price * 2 WHERE name = %s", ("apple",))
    check(cur.rowcount, 2, "update rowcount")
    conn.commit()
    cur.execute(f"SELECT sum(price) FROM {T} WHERE name = %s", ("apple",))
    check(cur.fetchone(), (Decimal("4.50"),), "after commit")
    conn.commit()

    try:
        cur.execute(f"INSERT INTO {T} (id, name) VALUES (%s, %s)", (1, "dup"))
        raise AssertionError("duplicate key accepted")
    except psycopg2.errors.UniqueViolation as e:
        expect_sqlstate(e.pgcode, errorcodes.UNIQUE_VIOLATION, "duplicate key")
    try:
        cur.execute("SELECT 1")
        raise AssertionError("statement in a failed transaction accepted")
    except psycopg2.errors.InFailedSqlTransaction as e:
        expect_sqlstate(e.pgcode, "25P02", "failed transaction")
    conn.rollback()
    try:
        cur.execute("SELECT * FROM psycopg2_no_such_table")
        raise AssertionError("undefined table accepted")
    except psycopg2.errors.UndefinedTable as e:
        expect_sqlstate(e.pgcode, "42P01", "undefined table")
    conn.rollback()
    try:
        cur.execute(f"INSERT INTO {T} (id) VALUES (%s)", (99,))
        raise AssertionError("NULL in a NOT NULL column accepted")
    except psycopg2.errors.NotNullViolation as e:
        expect_sqlstate(e.pgcode, "23502", "not null")
    conn.rollback()
    cur.execute("SELECT %s::int + 1", (41,))
    check(cur.fetchone(), (42,), "after errors")

    # inet and cidr (Django's GenericIPAddressField): psycopg2's ipaddress adapter writes them as
    # casts and reads them by their type OIDs.
    extras.register_ipaddress(conn)
    cur.execute("CREATE TABLE psycopg2_logins (id int PRIMARY KEY, ip inet, net cidr)")
    cur.execute(
        "INSERT INTO psycopg2_logins VALUES (%s, %s, %s), (%s, %s, %s)",
        (1, ipaddress.ip_interface("10.0.0.1"), ipaddress.ip_network("10.0.0.0/8"), 2, ipaddress.ip_interface("2001:db8::1/64"), ipaddress.ip_network("2001:db8::/32")),
    )
    cur.execute("SELECT id, ip, net FROM psycopg2_logins WHERE ip << %s ORDER BY ip", ("10.0.0.0/8",))
    check(cur.fetchall(), [(1, ipaddress.ip_interface("10.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"))], "inet and cidr as ipaddress objects")
    conn.commit()
    check(conn.server_version >= 150000, True, "server_version")
    conn.close()
    print("psycopg2: ok")


if __name__ == "__main__":
    sys.exit(main())
