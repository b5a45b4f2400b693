"""SQLAlchemy 2 (psycopg 3 dialect): declarative ORM, sessions, Core, `inspect()`'s catalog
queries (get_table_names, get_columns, get_pk_constraint, get_indexes, get_foreign_keys,
get_enums), and a native enum column (SQLAlchemy's `Enum` makes a PostgreSQL enum type)."""

import datetime
import enum
import sys
from decimal import Decimal

from clientlib import DATABASE, USER, args, check, require, sqlalchemy_engine

sa = require("sqlalchemy")
orm = require("sqlalchemy.orm")
from sqlalchemy import Index, Numeric, String, func, select  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column  # noqa: E402

UTC = datetime.timezone.utc


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "sa_customers"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)


class Order(Base):
    __tablename__ = "sa_orders"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("sa_customers.id", ondelete="CASCADE"), nullable=False)
    item: Mapped[str]
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    shipped: Mapped[bool | None]
    placed: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    due: Mapped[datetime.date | None]
    __table_args__ = (Index("sa_orders_item_idx", "item"),)


class Priority(enum.Enum):
    low = "low"
    high = "high"
    urgent = "urgent"


class Ticket(Base):
    __tablename__ = "sa_tickets"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    priority: Mapped[Priority] = mapped_column(sa.Enum(Priority, name="sa_priority"))


def main():
    a = args()
    engine = sqlalchemy_engine(sa, a.host, a.port)
    Base.metadata.create_all(engine)

    with Session(engine) as session:
        session.add_all([Customer(id=1, name="ada"), Customer(id=2, name="grace")])
        session.flush()
        session.add_all([
            Order(id=1, customer_id=1, item="pen", amount=Decimal("1.50"), shipped=True,
                  placed=datetime.datetime(2024, 5, 1, 9, 30, tzinfo=UTC), due=datetime.date(2024, 5, 3)),
            Order(id=2, customer_id=1, item="ink", amount=Decimal("4.25"), shipped=False,
                  placed=datetime.datetime(2024, 5, 2, 10, 0, tzinfo=UTC), due=None),
            Order(id=3, customer_id=2, item="pen", amount=Decimal("1.50"), shipped=None, placed=None, due=None),
        ])
        session.commit()

    with Session(engine) as session:
        order = session.get(Order, 1)
        check(order.item, "pen", "get by primary key")
        check(order.amount, Decimal("1.50"), "numeric as Decimal")
        check(order.placed, datetime.datetime(2024, 5, 1, 9, 30, tzinfo=UTC), "timestamptz as aware datetime")
        check(order.due, datetime.date(2024, 5, 3), "date")
        check(order.shipped, True, "boolean")
        pens = session.scalars(select(Order).where(Order.item == "pen").order_by(Order.id)).all()
        check([o.id for o in pens], [1, 3], "ORM query with a parameter")
        totals = session.execute(
            select(Customer.name, func.count(Order.id), func.sum(Order.amount))
            .join(Order, Order.customer_id == Customer.id)
            .group_by(Customer.name)
            .order_by(Customer.name)
        ).all()
        check([tuple(t) for t in totals], [("ada", 2, Decimal("5.75")), ("grace", 1, Decimal("1.50"))], "join + group by")

        order.amount = Decimal("9.99")
        session.add(Order(id=4, customer_id=2, item="pad", amount=Decimal("2.00")))
        session.flush()
        check(session.scalar(select(func.count()).select_from(Order)), 4, "count inside the transaction")
        session.rollback()
        check(session.scalar(select(func.count()).select_from(Order)), 3, "after rollback")
        check(session.get(Order, 1).amount, Decimal("1.50"), "update rolled back")

        session.add(Customer(id=1, name="dup"))
        try:
            session.commit()
            raise AssertionError("duplicate key accepted")
        except sa.exc.IntegrityError as e:
            check(e.orig.sqlstate, "23505", "duplicate key SQLSTATE")
            session.rollback()
        session.add(Order(id=9, customer_id=99, item="orphan", amount=Decimal("1.00")))
        try:
            session.commit()
            raise AssertionError("order for a missing customer accepted")
        except sa.exc.IntegrityError as e:
            check(e.orig.sqlstate, "23503", "foreign key SQLSTATE")
            check(e.orig.diag.constraint_name, "sa_orders_customer_id_fkey", "foreign key constraint name")
            session.rollback()
        try:
            session.execute(sa.text("SELECT * FROM sa_no_such_table"))
            raise AssertionError("undefined table accepted")
        except sa.exc.ProgrammingError as e:
            check(e.orig.sqlstate, "42P01", "undefined table SQLSTATE")
            session.rollback()

    # A native enum: created before its table (after asking pg_type whether it exists), its
    # values Python enum members, ordered as declared (not as text: urgent after high).
    with Session(engine) as session:
        session.add_all([Ticket(id=1, priority=Priority.urgent), Ticket(id=2, priority=Priority.low),
                         Ticket(id=3, priority=Priority.high)])
        session.commit()
        ordered = session.scalars(select(Ticket).order_by(Ticket.priority)).all()
        check([(t.id, t.priority) for t in ordered], [(2, Priority.low), (3, Priority.high), (1, Priority.urgent)],
              "enum column ordered by its labels")
        above_low = session.scalars(select(Ticket.id).where(Ticket.priority > Priority.low).order_by(Ticket.id)).all()
        check(above_low, [1, 3], "enum compared by its labels' order")
        try:
            session.execute(sa.text("INSERT INTO sa_tickets VALUES (4, 'someday')"))
            raise AssertionError("a value outside the enum accepted")
        except sa.exc.DataError as e:
            check(e.orig.sqlstate, "22P02", "invalid enum value SQLSTATE")
            session.rollback()

    insp = sa.inspect(engine)
    check(sorted(n for n in insp.get_table_names() if n.startswith("sa_")), ["sa_customers", "sa_orders", "sa_tickets"],
          "get_table_names")
    check([(e["name"], e["labels"]) for e in insp.get_enums()], [("sa_priority", ["low", "high", "urgent"])], "get_enums")
    priority = insp.get_columns("sa_tickets")[1]["type"]
    check((type(priority).__name__, priority.name, list(priority.enums)), ("ENUM", "sa_priority", ["low", "high", "urgent"]),
          "get_columns of an enum column")
    check(insp.has_table("sa_orders"), True, "has_table")
    check(insp.has_table("sa_nothing"), False, "has_table (missing)")
    columns = {c["name"]: c for c in insp.get_columns("sa_orders")}
    check(list(columns), ["id", "customer_id", "item", "amount", "shipped", "placed", "due"], "get_columns names")
    types = {name: type(c["type"]).__name__ for name, c in columns.items()}
    check(types, {"id": "INTEGER", "customer_id": "INTEGER", "item": "VARCHAR", "amount": "NUMERIC",
                  "shipped": "BOOLEAN", "placed": "TIMESTAMP", "due": "DATE"}, "get_columns types")
    check((columns["amount"]["type"].precision, columns["amount"]["type"].scale), (10, 2), "numeric(10,2)")
    check(columns["placed"]["type"].timezone, True, "timestamptz")
    check({n: c["nullable"] for n, c in columns.items()},
          {"id": False, "customer_id": False, "item": False, "amount": False, "shipped": True, "placed": True, "due": True},
          "get_columns nullable")
    cust_columns = insp.get_columns("sa_customers")
    check(cust_columns[1]["type"].length, 40, "varchar(40)")
    pk = insp.get_pk_constraint("sa_orders")
    check(pk["constrained_columns"], ["id"], "get_pk_constraint columns")
    check(pk["name"], "sa_orders_pkey", "get_pk_constraint name")
    order_indexes = insp.get_indexes("sa_orders")
    check([(i["name"], i["column_names"], i["unique"]) for i in order_indexes], [("sa_orders_item_idx", ["item"], False)],
          "get_indexes (CREATE INDEX)")
    indexes = insp.get_indexes("sa_customers")
    check([(i["name"], i["column_names"], i["unique"]) for i in indexes], [("sa_customers_name_key", ["name"], True)], "get_indexes")
    uniques = insp.get_unique_constraints("sa_customers")
    check([(u["name"], u["column_names"]) for u in uniques], [("sa_customers_name_key", ["name"])], "get_unique_constraints")
    fks = insp.get_foreign_keys("sa_orders")
    check([(f["name"], f["constrained_columns"], f["referred_table"], f["referred_columns"], f["options"].get("ondelete"))
           for f in fks],
          [("sa_orders_customer_id_fkey", ["customer_id"], "sa_customers", ["id"], "CASCADE")], "get_foreign_keys")
    check(insp.get_foreign_keys("sa_customers"), [], "get_foreign_keys (none)")

    # Reflection: the table as rhei's catalog describes it.
    orders = sa.Table("sa_orders", sa.MetaData(), autoload_with=engine)
    check([c.name for c in orders.columns], [c.name for c in Order.__table__.columns], "reflected columns")
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(orders).where(orders.c.amount > Decimal("1.00"))).scalar_one()
        check(n, 3, "reflected table query")
        # stream_results reads through a server-side cursor (DECLARE / FETCH) in pieces.
        streamed = conn.execution_options(stream_results=True, max_row_buffer=2).execute(select(orders.c.id).order_by(orders.c.id))
        ids = [row[0] for row in streamed]
        plain = [row[0] for row in conn.execute(select(orders.c.id).order_by(orders.c.id))]
        check(ids, plain, "stream_results rows")
        check(len(ids) > 2, True, "stream_results read more than one piece")
    engine.dispose()
    print("sqlalchemy: ok")


if __name__ == "__main__":
    sys.exit(main())
