"""asyncpg (binary protocol throughout, prepared statements, its own type introspection) against rhei."""

import asyncio
import datetime
import ipaddress
import sys
import uuid
from decimal import Decimal

from clientlib import DATABASE, USER, args, check, expect_sqlstate, require, SAMPLE_ROWS as ROWS, UTC

asyncpg = require("asyncpg")

T = "asyncpg_items"


async def main():
    a = args()
    conn = await asyncpg.connect(host=a.host, port=a.port, user=USER, database=DATABASE)
    await conn.execute(
        f"CREATE TABLE {T} (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), "
        "ok boolean, seen timestamptz, day date)"
    )
    await conn.executemany(f"INSERT INTO {T} (id, name, price, ok, seen, day) VALUES ($1, $2, $3, $4, $5, $6)", ROWS)

    rows = await conn.fetch(f"SELECT id, name, price, ok, seen, day FROM {T} WHERE id >= $1 ORDER BY id", 1)
    check(len(rows), len(ROWS), "row count")
    names = ["id", "name", "price", "ok", "seen", "day"]
    check(list(rows[0].keys()), names, "column names")
    for row, expected in zip(rows, ROWS):
        for i, e in enumerate(expected):
            check(row[i], e, f"row {expected[0]} column {names[i]}")

    stmt = await conn.prepare(f"SELECT name, price FROM {T} WHERE day = $1 AND ok = $2")
    check([a.name for a in stmt.get_attributes()], ["name", "price"], "prepared attributes")
    check([p.name for p in stmt.get_parameters()], ["date", "bool"], "prepared parameter types")
    check(tuple(await stmt.fetchrow(datetime.date(2024, 2, 3), False)), ("pear", Decimal("2.25")), "prepared fetchrow")
    check(await conn.fetchval(f"SELECT count(*) FROM {T} WHERE seen < $1", datetime.datetime(2024, 1, 15, tzinfo=UTC)), 2, "timestamptz parameter")
    check(await conn.fetchval(f"SELECT id FROM {T} WHERE price = $1", Decimal("10.00")), 3, "numeric parameter")
    check(await conn.fetchval(f"SELECT count(*) FROM {T} WHERE name = ANY($1::text[])", ["pear", "plum", "none"]), 2, "= ANY (text[] parameter)")
    # An int4[] parameter makes asyncpg introspect the type (set_config('jit', ...), a
    # recursive CTE over pg_type with = any($1::oid[]), pg_range); that failed with 42883.
    check(await conn.fetchval(f"SELECT count(*) FROM {T} WHERE id = ANY($1)", [1, 3, 9]), 2, "= ANY (int4[] parameter)")
    check(await conn.fetchval(f"SELECT count(*) FROM {T} WHERE price = ANY($1)", [Decimal("2.25"), Decimal("10.00")]), 2, "= ANY (numeric[] parameter)")

    agg = await conn.fetch(
        f"SELECT name, count(*) AS n, sum(price) AS total, avg(price) AS mean FROM {T} GROUP BY name ORDER BY name"
    )
    check([(r["name"], r["n"]) for r in agg], [("apple", 2), ("pear", 1), ("plum", 1)], "group by counts")
    check(agg[0]["total"], Decimal("2.25"), "sum(numeric)")
    check(round(agg[0]["mean"], 3), Decimal("1.125"), "avg(numeric)")

    # A transaction that fails rolls back whole.
    try:
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {T} (id, name) VALUES ($1, $2)", 10, "ghost")
            check(await conn.fetchval(f"SELECT count(*) FROM {T}"), 5, "count inside the transaction")
            await conn.execute(f"INSERT INTO {T} (id, name) VALUES ($1, $2)", 1, "dup")
        raise AssertionError("duplicate key accepted")
    except asyncpg.UniqueViolationError as e:
        expect_sqlstate(e.sqlstate, "23505", "duplicate key")
    check(await conn.fetchval(f"SELECT count(*) FROM {T}"), 4, "after rollback")
    async with conn.transaction():
        await conn.execute(f"UPDATE {T} SET price = $1 WHERE id = $2", Decimal("3.33"), 3)
    check(await conn.fetchval(f"SELECT price FROM {T} WHERE id = $1", 3), Decimal("3.33"), "after commit")

    try:
        await conn.fetch("SELECT * FROM asyncpg_no_such_table")
        raise AssertionError("undefined table accepted")
    except asyncpg.UndefinedTableError as e:
        expect_sqlstate(e.sqlstate, "42P01", "undefined table")
    check(await conn.fetchval("SELECT $1::int + 1", 41), 42, "after errors")

    # uuid parameters are described as uuid: asyncpg refused a UUID for a text parameter.
    key = uuid.UUID("4f1c7a52-9c3e-4a8e-b5b0-2f6d1c9e8a01")
    await conn.execute("CREATE TABLE asyncpg_keys (id uuid PRIMARY KEY, n int)")
    await conn.execute("INSERT INTO asyncpg_keys VALUES ($1, $2)", key, 7)
    check(await conn.fetchval("SELECT n FROM asyncpg_keys WHERE id = $1", key), 7, "uuid parameter")
    check(str(await conn.fetchval("SELECT id FROM asyncpg_keys WHERE n = $1", 7)), str(key), "uuid result")

    # time columns: asyncpg writes and reads datetime.time in binary (microseconds since midnight).
    await conn.execute("CREATE TABLE asyncpg_hours (id int PRIMARY KEY, opens time)")
    await conn.executemany("INSERT INTO asyncpg_hours VALUES ($1, $2)", [(1, datetime.time(9, 0)), (2, datetime.time(13, 5, 30, 250000))])
    check(await conn.fetchval("SELECT opens FROM asyncpg_hours WHERE id = $1", 2), datetime.time(13, 5, 30, 250000), "time result")
    check(await conn.fetchval("SELECT count(*) FROM asyncpg_hours WHERE opens > $1", datetime.time(12, 0)), 1, "time parameter")
    check(await conn.fetchval("SELECT max(opens) + interval '11 hours' FROM asyncpg_hours"), datetime.time(0, 5, 30, 250000), "time plus interval")

    # Array columns: asyncpg introspects the array types, then writes and reads them in binary.
    await conn.execute("CREATE TABLE asyncpg_posts (id int PRIMARY KEY, tags text[], days date[])")
    await conn.execute("INSERT INTO asyncpg_posts VALUES ($1, $2, $3)", 1, ["x", None, "y z"], [datetime.date(2024, 2, 29)])
    row = await conn.fetchrow("SELECT tags, days FROM asyncpg_posts WHERE $1 = ANY (tags)", "x")
    check((row["tags"], row["days"]), (["x", None, "y z"], [datetime.date(2024, 2, 29)]), "array columns in binary")
    check(await conn.fetchval("SELECT id FROM asyncpg_posts WHERE id = $1 AND days @> $2", 1, [datetime.date(2024, 2, 29)]), 1, "a date list parameter with @>")

    # interval columns: asyncpg writes and reads datetime.timedelta in binary (microseconds,
    # days, months).
    await conn.execute("CREATE TABLE asyncpg_waits (id int PRIMARY KEY, took interval)")
    await conn.executemany("INSERT INTO asyncpg_waits VALUES ($1, $2)", [(1, datetime.timedelta(hours=25)), (2, datetime.timedelta(days=2, seconds=5, microseconds=6))])
    check(await conn.fetchval("SELECT took FROM asyncpg_waits WHERE id = $1", 2), datetime.timedelta(days=2, seconds=5, microseconds=6), "interval result")
    check(await conn.fetchval("SELECT count(*) FROM asyncpg_waits WHERE took > $1", datetime.timedelta(days=1)), 2, "interval parameter")
    check(await conn.fetchval("/*+ olap */ SELECT avg(took) FROM asyncpg_waits"), datetime.timedelta(days=1, hours=12, minutes=30, seconds=2, microseconds=500003), "avg of intervals")

    # inet and cidr: asyncpg writes and reads ipaddress objects in binary, and sends one only
    # for a parameter described as inet or cidr.
    await conn.execute("CREATE TABLE asyncpg_logins (id int PRIMARY KEY, ip inet, net cidr)")
    await conn.executemany(
        "INSERT INTO asyncpg_logins VALUES ($1, $2, $3)",
        [(1, ipaddress.ip_address("192.168.1.5"), ipaddress.ip_network("192.168.1.0/24")), (2, ipaddress.ip_interface("2001:db8::1/64"), ipaddress.ip_network("2001:db8::/32"))],
    )
    row = await conn.fetchrow("SELECT ip, net, host(ip), masklen(net) FROM asyncpg_logins WHERE ip = $1", ipaddress.ip_address("192.168.1.5"))
    check(tuple(row), (ipaddress.ip_address("192.168.1.5"), ipaddress.ip_network("192.168.1.0/24"), "192.168.1.5", 24), "inet and cidr in binary")
    rows = await conn.fetch("SELECT id, ip FROM asyncpg_logins WHERE net >>= $1 ORDER BY ip DESC", ipaddress.ip_network("2001:db8::/48"))
    check([tuple(r) for r in rows], [(2, ipaddress.ip_interface("2001:db8::1/64"))], "a cidr parameter with >>=")
    # A number added to an address is a bigint parameter, an address subtracted an inet one; a
    # cidr column is compared with an inet parameter; a NULL list parameter matches nothing.
    check(await conn.fetchval("SELECT ip + $1 FROM asyncpg_logins WHERE id = 1", 1), ipaddress.ip_address("192.168.1.6"), "inet plus a bigint parameter")
    check(await conn.fetchval("SELECT ip - $1 FROM asyncpg_logins WHERE id = 1", ipaddress.ip_address("192.168.1.0")), 5, "inet minus an inet parameter")
    check(await conn.fetchval("SELECT id FROM asyncpg_logins WHERE net >>= $1", ipaddress.ip_interface("192.168.1.5/24")), 1, "a cidr column with an inet parameter")
    check(await conn.fetchval("SELECT count(*) FROM asyncpg_logins WHERE ip = ANY ($1)", None), 0, "a NULL inet[] parameter")
    await conn.close()

    pool = await asyncpg.create_pool(host=a.host, port=a.port, user=USER, database=DATABASE, min_size=2, max_size=2)
    counts = await asyncio.gather(*(pool.fetchval(f"SELECT count(*) FROM {T} WHERE id <= $1", i) for i in range(1, 5)))
    check(counts, [1, 2, 3, 4], "pool")
    await pool.close()

    # LISTEN/NOTIFY as asyncpg's add_listener uses them: the callback runs for a notification
    # sent by another connection while this one idles.
    listening = await asyncpg.connect(host=a.host, port=a.port, user=USER, database=DATABASE)
    heard = asyncio.get_running_loop().create_future()
    def on_notification(_conn, pid, channel, payload):
        if not heard.done():
            heard.set_result((pid, channel, payload))
    await listening.add_listener("asyncpg jobs", on_notification)
    notifier = await asyncpg.connect(host=a.host, port=a.port, user=USER, database=DATABASE)
    await notifier.execute("SELECT pg_notify($1, $2)", "asyncpg jobs", "job 1")
    pid, channel, payload = await asyncio.wait_for(heard, 10)
    # The sender is named as pg_backend_pid() names it (through a forwarding rhei, the upstream's
    # process, which sent it).
    sender = await notifier.fetchval("SELECT pg_backend_pid()")
    check((pid, channel, payload), (sender, "asyncpg jobs", "job 1"), "notification heard by add_listener")
    await listening.remove_listener("asyncpg jobs", on_notification)
    await notifier.close()
    await listening.close()
    print("asyncpg: ok")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
