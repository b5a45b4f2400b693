"""psycopg 3 (server-side parameters, binary and text results) against rhei."""

import datetime
import sys
from decimal import Decimal

from clientlib import DATABASE, USER, args, check, expect_sqlstate, require, SAMPLE_ROWS as ROWS, UTC

psycopg = require("psycopg")
errors = require("psycopg.errors")

T = "psycopg3_items"


def main():
    a = args()
    conn = psycopg.connect(host=a.host, port=a.port, user=USER, dbname=DATABASE, autocommit=True)
    with conn:
        conn.execute(
            f"CREATE TABLE {T} (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
            "ok boolean, seen timestamptz, day date)"
        )
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {T} (id, name, price, ok, seen, day) VALUES (%s, %s, %s, %s, %s, %s)", ROWS)

        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                cur.execute(f"SELECT id, name, price, ok, seen, day FROM {T} WHERE id >= %s ORDER BY id", (1,))
                got = cur.fetchall()
                names = [d.name for d in cur.description]
                check(names, ["id", "name", "price", "ok", "seen", "day"], "column names")
                for row, expected in zip(got, ROWS):
                    for i, (g, e) in enumerate(zip(row, expected)):
                        # timestamptz comes back in the session time zone; compare instants.
                        check(g, e, f"binary={binary} row {expected[0]} column {names[i]}")
                check(len(got), len(ROWS), f"binary={binary} row count")

        # A named (server-side) cursor: DECLARE, Describe of its portal, FETCH FORWARD in pieces,
        # in text and binary, in a transaction and WITH HOLD outside one.
        for binary in (False, True):
            for withhold in (False, True):
                conn.autocommit = withhold
                with conn.cursor(name="psycopg3_named", binary=binary, withhold=withhold) as cur:
                    cur.itersize = 2
                    cur.execute(f"SELECT id, name, price FROM {T} WHERE id >= %s ORDER BY id", (1,))
                    check([d.name for d in cur.description], ["id", "name", "price"], "named cursor description")
                    first = cur.fetchmany(3)
                    rest = list(cur)
                    check([r[0] for r in first + rest], [r[0] for r in ROWS], f"named cursor rows binary={binary} withhold={withhold}")
                    check(first[0][2], ROWS[0][2], "named cursor numeric value")
                if not withhold:
                    conn.commit()
        conn.autocommit = True

        # A scrollable named cursor: scroll() moves it back (MOVE -n) and to a row (MOVE ABSOLUTE).
        ids = [r[0] for r in ROWS]
        with conn.cursor(name="psycopg3_scroll", scrollable=True, withhold=True) as cur:
            cur.execute(f"SELECT id FROM {T} ORDER BY id")
            check([r[0] for r in cur.fetchmany(3)], ids[:3], "scroll cursor first rows")
            cur.scroll(-2)
            check(cur.fetchone()[0], ids[1], "after scroll(-2)")
            cur.scroll(0, mode="absolute")
            check([r[0] for r in cur.fetchall()], ids, "after scroll(0, absolute)")

        # Parameter of each type in WHERE.
        row = conn.execute(
            f"SELECT id FROM {T} WHERE name = %s AND price = %s AND ok = %s AND day = %s",
            ("pear", Decimal("2.25"), False, datetime.date(2024, 2, 3)),
        ).fetchone()
        check(row, (2,), "select by typed parameters")
        row = conn.execute(f"SELECT id FROM {T} WHERE seen > %s ORDER BY id", (datetime.datetime(2024, 1, 15, tzinfo=UTC),)).fetchall()
        check(row, [(2,)], "timestamptz parameter")
        # time columns: psycopg sends datetime.time typed time and reads it back as one.
        conn.execute("CREATE TABLE psycopg3_hours (id int PRIMARY KEY, opens time)")
        conn.execute("INSERT INTO psycopg3_hours VALUES (%s, %s), (%s, %s)", (1, datetime.time(9, 0), 2, datetime.time(13, 5, 30, 250000)))
        check(conn.execute("SELECT opens FROM psycopg3_hours WHERE opens > %s", (datetime.time(12, 0),)).fetchall(), [(datetime.time(13, 5, 30, 250000),)], "time parameter and result")
        check(conn.execute("SELECT min(opens) - interval '10 hours' FROM psycopg3_hours").fetchone(), (datetime.time(23, 0),), "time minus interval")
        # interval columns: psycopg sends datetime.timedelta typed interval and reads it back as one.
        conn.execute("CREATE TABLE psycopg3_waits (id int PRIMARY KEY, took interval)")
        conn.execute("INSERT INTO psycopg3_waits VALUES (%s, %s), (%s, %s)", (1, datetime.timedelta(hours=25), 2, datetime.timedelta(days=2, microseconds=5)))
        check(conn.execute("SELECT took FROM psycopg3_waits WHERE took > %s ORDER BY took", (datetime.timedelta(days=1),)).fetchall(), [(datetime.timedelta(hours=25),), (datetime.timedelta(days=2, microseconds=5),)], "interval parameter and result")
        check(conn.execute("SELECT sum(took) FROM psycopg3_waits").fetchone(), (datetime.timedelta(days=3, hours=1, microseconds=5),), "sum of intervals")
        # A Python list is an array parameter: = ANY and <> ALL, in a transaction too.
        row = conn.execute(f"SELECT id FROM {T} WHERE id = ANY(%s) ORDER BY id", ([1, 3, 99],)).fetchall()
        check(row, [(1,), (3,)], "= ANY (list parameter)")
        row = conn.execute(f"SELECT count(*) FROM {T} WHERE name <> ALL(%s)", (["pear", "plum"],)).fetchone()
        check(row, (2,), "<> ALL (list parameter)")

        # Aggregate with GROUP BY.
        agg = conn.execute(
            f"SELECT name, count(*) AS n, sum(price) AS total, avg(price) AS mean FROM {T} GROUP BY name ORDER BY name"
        ).fetchall()
        check([(r[0], r[1]) for r in agg], [("apple", 2), ("pear", 1), ("plum", 1)], "group by counts")
        check(agg[0][2], Decimal("2.25"), "sum(numeric) is numeric")
        check(round(agg[0][3], 3), Decimal("1.125"), "avg(numeric) is numeric")

        # Transaction rolled back: nothing of it remains.
        conn.autocommit = False
        with conn.transaction(force_rollback=True):
            conn.execute(f"INSERT INTO {T} (id, name) VALUES (%s, %s)", (10, "ghost"))
            conn.execute(f"UPDATE {T} SET price = price + 1 WHERE id = %s", (1,))
            check(conn.execute(f"SELECT count(*) FROM {T}").fetchone()[0], 5, "count inside the transaction")
        check(conn.execute(f"SELECT count(*), sum(price) FROM {T}").fetchone(), (4, Decimal("14.50")), "after rollback")
        conn.commit()
        # ...and a committed one stays.
        with conn.transaction():
            conn.execute(f"INSERT INTO {T} (id, name, price) VALUES (%s, %s, %s)", (5, "fig", Decimal("3.00")))
        conn.commit()
        conn.autocommit = True
        check(conn.execute(f"SELECT name FROM {T} WHERE id = %s", (5,)).fetchone(), ("fig",), "committed row")

        # Errors carry SQLSTATEs, and the connection lives on.
        try:
            conn.execute(f"INSERT INTO {T} (id, name) VALUES (%s, %s)", (1, "dup"))
            raise AssertionError("duplicate key accepted")
        except errors.UniqueViolation as e:
            expect_sqlstate(e.sqlstate, "23505", "duplicate key")
        try:
            conn.execute("SELECT * FROM psycopg3_no_such_table")
            raise AssertionError("undefined table accepted")
        except errors.UndefinedTable as e:
            expect_sqlstate(e.sqlstate, "42P01", "undefined table")
        # In a transaction, an error aborts it until ROLLBACK (25P02).
        conn.autocommit = False
        try:
            conn.execute(f"INSERT INTO {T} (id, name) VALUES (%s, %s)", (2, "dup"))
            raise AssertionError("duplicate key accepted")
        except errors.UniqueViolation as e:
            expect_sqlstate(e.sqlstate, "23505", "duplicate key in a transaction")
        try:
            conn.execute("SELECT 1")
            raise AssertionError("statement in a failed transaction accepted")
        except errors.InFailedSqlTransaction as e:
            expect_sqlstate(e.sqlstate, "25P02", "failed transaction")
        conn.rollback()
        conn.autocommit = True
        check(conn.execute("SELECT 1 + %s", (1,)).fetchone(), (2,), "after rollback")
        check(conn.info.server_version >= 150000, True, "server_version")
        # A changed TimeZone is reported (ParameterStatus), so psycopg gives timestamptz values
        # in it; a SET undone by ROLLBACK is reported back.
        conn.execute("SET TimeZone = 'Europe/Paris'")
        check(conn.info.parameter_status("TimeZone"), "Europe/Paris", "TimeZone reported after SET")
        check(str(conn.info.timezone), "Europe/Paris", "psycopg's session time zone")
        seen = conn.execute(f"SELECT seen FROM {T} WHERE id = 1").fetchone()[0]
        check(seen.utcoffset() is not None and str(seen.tzinfo), "Europe/Paris", "timestamptz in the session zone")
        with conn.transaction():
            conn.execute("SET application_name = 'inside'")
            check(conn.info.parameter_status("application_name"), "inside", "application_name reported")
            conn.execute("SET LOCAL TimeZone = 'UTC'")
            check(conn.info.parameter_status("TimeZone"), "UTC", "SET LOCAL reported")
        check(conn.info.parameter_status("TimeZone"), "Europe/Paris", "SET LOCAL's end reported")
        check(conn.info.parameter_status("application_name"), "inside", "a committed SET stays")
        # LISTEN/NOTIFY: psycopg's notifies() generator hears another connection's NOTIFY.
        conn.execute("LISTEN psycopg_jobs")
        with psycopg.connect(host=a.host, port=a.port, user=USER, dbname=DATABASE, autocommit=True) as notifier:
            notifier.execute("NOTIFY psycopg_jobs, 'job 1'")
            sender = notifier.execute("SELECT pg_backend_pid()").fetchone()[0]
        heard = [(n.channel, n.payload, n.pid) for n in conn.notifies(timeout=10, stop_after=1)]
        check(heard, [("psycopg_jobs", "job 1", sender)], "notification heard by notifies()")
        # ReadyForQuery's transaction status follows the block: a nested transaction() that
        # failed is rolled back to its savepoint, leaving the outer block usable (T, not E), in
        # the extended protocol (execute) and the simple one (pgconn.exec_).
        status = lambda: conn.info.transaction_status.name
        for simple in (False, True):
            run = (lambda sql: conn.pgconn.exec_(sql.encode())) if simple else conn.execute
            with conn.transaction():
                run(f"INSERT INTO {T} (id, name) VALUES (100, 'kept')")
                run("SAVEPOINT inner_block")
                if simple:
                    check(run("SELECT 1/0").error_field(psycopg.pq.DiagnosticField.SQLSTATE), b"22012", "simple: division by zero")
                else:
                    try:
                        run("SELECT 1/0")
                    except errors.DivisionByZero:
                        pass
                check(status(), "INERROR", f"simple={simple}: status after an error")
                run("ROLLBACK TO SAVEPOINT inner_block")
                check(status(), "INTRANS", f"simple={simple}: status after ROLLBACK TO")
                run(f"DELETE FROM {T} WHERE id = 100")
            check(status(), "IDLE", f"simple={simple}: status after the block")
        # A table made in a block is read in it with its declared types when read with
        # parameters (a prepared read; 42P01 before, as the OLAP planner that types every
        # query has no such table until the block commits).
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE TABLE made_in_block (id int PRIMARY KEY, price numeric(8,2))")
            conn.execute("INSERT INTO made_in_block VALUES (%s, %s)", (1, Decimal("2.50")))
            cur = conn.execute("SELECT * FROM made_in_block WHERE id = %s", (1,))
            check([d.type_code for d in cur.description], [23, 1700], "a block's new table: prepared column types")
            check(cur.fetchall(), [(1, Decimal("2.50"))], "a block's new table: prepared rows")
    print("psycopg3: ok")


if __name__ == "__main__":
    sys.exit(main())
