// The PostgreSQL JDBC driver (pgjdbc, Debian's libpostgresql-jdbc-java) against rhei: typed
// parameters and getters, batches, server-side prepared statements, fetch-size cursors (Execute
// with a row limit, portal suspension), transactions, SQLSTATEs, and the DatabaseMetaData calls
// BI tools (Metabase, DBeaver) build their schema browsers on.
//
// Run with `java -cp /usr/share/java/postgresql.jar JdbcClient.java --host H --port P`; exits
// non-zero on the first wrong answer, 3 when the driver is missing.

import java.math.BigDecimal;
import java.sql.*;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.*;

public class JdbcClient {
    static void check(Object got, Object expected, String what) {
        if (!Objects.equals(got, expected)) {
            throw new AssertionError(what + ": got " + got + " (" + (got == null ? "null" : got.getClass().getSimpleName())
                    + "), expected " + expected + " (" + (expected == null ? "null" : expected.getClass().getSimpleName()) + ")");
        }
    }

    static void expectState(SQLException e, String state, String what) {
        if (!state.equals(e.getSQLState())) {
            throw new AssertionError(what + ": SQLSTATE " + e.getSQLState() + " (" + e.getMessage() + "), expected " + state);
        }
    }

    interface Sql { void run() throws SQLException; }

    static void expectError(String state, String what, Sql body) {
        try {
            body.run();
        } catch (SQLException e) {
            expectState(e, state, what);
            return;
        }
        throw new AssertionError(what + ": no error, expected SQLSTATE " + state);
    }

    /// The rows of a metadata result set as "COL=value" maps, for the columns named.
    static List<Map<String, Object>> rows(ResultSet rs, String... columns) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        while (rs.next()) {
            Map<String, Object> row = new LinkedHashMap<>();
            for (String c : columns) row.put(c, rs.getObject(c));
            out.add(row);
        }
        rs.close();
        return out;
    }

    public static void main(String[] argv) throws Exception {
        String host = "127.0.0.1";
        String port = null;
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (argv[i].equals("--host")) host = argv[i + 1];
            if (argv[i].equals("--port")) port = argv[i + 1];
        }
        try {
            Class.forName("org.postgresql.Driver");
        } catch (ClassNotFoundException e) {
            System.err.println("the PostgreSQL JDBC driver is not on the class path: " + e);
            System.exit(3);
        }
        // prepareThreshold=1: named server-side statements from the first execution on.
        String url = "jdbc:postgresql://" + host + ":" + port + "/rhei?user=rhei&prepareThreshold=1";
        try (Connection conn = DriverManager.getConnection(url)) {
            DatabaseMetaData meta = conn.getMetaData();
            check(meta.getDatabaseProductName(), "PostgreSQL", "product name");
            check(meta.getDatabaseMajorVersion(), 15, "server major version");

            try (Statement st = conn.createStatement()) {
                st.execute("CREATE TABLE jdbc_customers (id int PRIMARY KEY, name text NOT NULL UNIQUE)");
                st.execute("CREATE TABLE jdbc_orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES jdbc_customers(id), "
                        + "total numeric(10,2), shipped boolean, placed timestamptz, due date, note varchar(20), tag uuid, raw bytea, "
                        + "score double precision)");
                st.execute("CREATE INDEX jdbc_orders_due_idx ON jdbc_orders (due)");
                check(st.executeUpdate("INSERT INTO jdbc_customers VALUES (1, 'ada'), (2, 'grace')"), 2, "multi-row insert count");
            }

            // Batches of typed parameters through a named prepared statement.
            UUID tag = UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
            OffsetDateTime placed = OffsetDateTime.of(2024, 5, 1, 9, 30, 0, 250_000_000, ZoneOffset.UTC);
            try (PreparedStatement ps = conn.prepareStatement(
                    "INSERT INTO jdbc_orders (id, customer_id, total, shipped, placed, due, note, tag, raw, score) VALUES (?,?,?,?,?,?,?,?,?,?)")) {
                for (int i = 1; i <= 50; i++) {
                    ps.setLong(1, i);
                    ps.setInt(2, i % 2 + 1);
                    ps.setBigDecimal(3, new BigDecimal(i + ".25"));
                    if (i % 3 == 0) ps.setNull(4, Types.BOOLEAN); else ps.setBoolean(4, i % 3 == 1);
                    ps.setObject(5, placed.plusDays(i));
                    ps.setObject(6, LocalDate.of(2024, 6, 1).plusDays(i));
                    ps.setString(7, "note " + i);
                    ps.setObject(8, i == 1 ? tag : null, Types.OTHER);
                    ps.setBytes(9, new byte[] {(byte) i, 0, (byte) 255});
                    ps.setDouble(10, i * 0.5);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                check(counts.length, 50, "batch size");
                for (int c : counts) check(c, 1, "each batch row inserted");
            }

            // Typed getters and the column types the driver sees.
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, customer_id, total, shipped, placed, due, note, tag, raw, score FROM jdbc_orders WHERE id = ?")) {
                ps.setLong(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), true, "row 1 found");
                    check(rs.getLong("id"), 1L, "bigint");
                    check(rs.getInt("customer_id"), 2, "int");
                    check(rs.getBigDecimal("total"), new BigDecimal("1.25"), "numeric(10,2)");
                    check(rs.getBoolean("shipped"), true, "boolean");
                    check(rs.getObject("placed", OffsetDateTime.class).toInstant(), placed.plusDays(1).toInstant(), "timestamptz");
                    check(rs.getObject("due", LocalDate.class), LocalDate.of(2024, 6, 2), "date");
                    check(rs.getString("note"), "note 1", "varchar");
                    check(rs.getObject("tag"), tag, "uuid");
                    check(Arrays.toString(rs.getBytes("raw")), Arrays.toString(new byte[] {1, 0, (byte) 255}), "bytea");
                    check(rs.getDouble("score"), 0.5, "double precision");
                    ResultSetMetaData md = rs.getMetaData();
                    String[] typeNames = {"int8", "int4", "numeric", "bool", "timestamptz", "date", "varchar", "uuid", "bytea", "float8"};
                    int[] sqlTypes = {Types.BIGINT, Types.INTEGER, Types.NUMERIC, Types.BIT, Types.TIMESTAMP, Types.DATE,
                            Types.VARCHAR, Types.OTHER, Types.BINARY, Types.DOUBLE};
                    for (int i = 0; i < typeNames.length; i++) {
                        check(md.getColumnTypeName(i + 1), typeNames[i], "type name of column " + (i + 1));
                        check(md.getColumnType(i + 1), sqlTypes[i], "SQL type of column " + (i + 1));
                    }
                    check(md.getPrecision(3), 10, "numeric precision");
                    check(md.getScale(3), 2, "numeric scale");
                    check(md.getColumnDisplaySize(7), 20, "varchar(20) display size");
                    check(rs.next(), false, "one row");
                }
                // The same statement again, now server-side prepared, with a missing key.
                ps.setLong(1, 999);
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), false, "no row for a missing key");
                }
            }

            // Analytics: aggregates by group, typed as PostgreSQL types them.
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT c.name, count(*) AS n, sum(o.total) AS total, avg(o.score) AS mean "
                         + "FROM jdbc_orders o JOIN jdbc_customers c ON c.id = o.customer_id GROUP BY c.name ORDER BY c.name")) {
                check(rs.next(), true, "first group");
                check(rs.getString(1), "ada", "group name");
                check(rs.getLong(2), 25L, "count");
                check(rs.getMetaData().getColumnTypeName(2), "int8", "count(*) is int8");
                check(rs.getBigDecimal(3), new BigDecimal("656.25"), "sum(numeric)");
                check(rs.getMetaData().getColumnTypeName(3), "numeric", "sum(numeric) is numeric");
                check(rs.getDouble(4), 13.0, "avg(double)");
                check(rs.next(), true, "second group");
                check(rs.getString(1), "grace", "second group name");
                check(rs.next(), false, "two groups");
            }

            // A fetch size inside a transaction makes the driver read through a portal in
            // chunks (Execute with a row limit, PortalSuspended between them).
            conn.setAutoCommit(false);
            try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM jdbc_orders ORDER BY id")) {
                ps.setFetchSize(7);
                try (ResultSet rs = ps.executeQuery()) {
                    long expected = 1;
                    while (rs.next()) {
                        check(rs.getLong(1), expected, "row in fetch order");
                        expected++;
                    }
                    check(expected, 51L, "all rows through the suspended portal");
                }
            }
            conn.commit();

            // Transactions: a rollback leaves nothing, a commit stays.
            try (Statement st = conn.createStatement()) {
                st.executeUpdate("UPDATE jdbc_orders SET total = 0 WHERE id <= 10");
                st.executeUpdate("DELETE FROM jdbc_orders WHERE id = 50");
                conn.rollback();
                try (ResultSet rs = st.executeQuery("SELECT count(*), sum(total) FROM jdbc_orders")) {
                    rs.next();
                    check(rs.getLong(1), 50L, "count after rollback");
                    check(rs.getBigDecimal(2), new BigDecimal("1287.50"), "sum after rollback");
                }
                conn.commit();
                Savepoint sp = conn.setSavepoint("before_delete");
                st.executeUpdate("DELETE FROM jdbc_orders WHERE id > 40");
                conn.rollback(sp);
                st.executeUpdate("DELETE FROM jdbc_orders WHERE id = 50");
                conn.commit();
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM jdbc_orders")) {
                    rs.next();
                    check(rs.getLong(1), 49L, "savepoint rolled back, later delete committed");
                }
            }
            conn.setAutoCommit(true);

            // Errors carry their SQLSTATE and the connection lives on.
            try (Statement st = conn.createStatement()) {
                expectError("23505", "duplicate key", () -> st.executeUpdate("INSERT INTO jdbc_customers VALUES (1, 'again')"));
                expectError("23503", "missing referenced row", () -> st.executeUpdate("INSERT INTO jdbc_orders (id, customer_id) VALUES (100, 9)"));
                expectError("23503", "referenced row deleted", () -> st.executeUpdate("DELETE FROM jdbc_customers WHERE id = 1"));
                expectError("42P01", "undefined table", () -> st.executeQuery("SELECT * FROM jdbc_missing"));
                expectError("42703", "undefined column", () -> st.executeQuery("SELECT nope FROM jdbc_orders"));
                expectError("22P02", "bad integer text", () -> st.executeQuery("SELECT 'x'::int"));
                try (ResultSet rs = st.executeQuery("SELECT 1")) {
                    check(rs.next() && rs.getInt(1) == 1, true, "connection usable after errors");
                }
            }

            // DatabaseMetaData: what schema browsers list.
            List<Map<String, Object>> schemas = rows(meta.getSchemas(), "TABLE_SCHEM");
            check(schemas.stream().anyMatch(r -> "public".equals(r.get("TABLE_SCHEM"))), true, "getSchemas lists public: " + schemas);
            List<Map<String, Object>> catalogs = rows(meta.getCatalogs(), "TABLE_CAT");
            check(catalogs.stream().anyMatch(r -> "rhei".equals(r.get("TABLE_CAT"))), true, "getCatalogs lists rhei: " + catalogs);

            List<Map<String, Object>> tables = rows(meta.getTables(null, "public", "jdbc_%", new String[] {"TABLE"}),
                    "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
            check(tables.toString(), "[{TABLE_SCHEM=public, TABLE_NAME=jdbc_customers, TABLE_TYPE=TABLE}, "
                    + "{TABLE_SCHEM=public, TABLE_NAME=jdbc_orders, TABLE_TYPE=TABLE}]", "getTables");

            List<Map<String, Object>> columns = rows(meta.getColumns(null, "public", "jdbc_orders", "%"),
                    "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "ORDINAL_POSITION");
            check(columns.size(), 10, "getColumns count");
            check(columns.get(0).toString(), "{COLUMN_NAME=id, TYPE_NAME=int8, DATA_TYPE=" + Types.BIGINT
                    + ", COLUMN_SIZE=19, DECIMAL_DIGITS=0, NULLABLE=0, ORDINAL_POSITION=1}", "getColumns id");
            check(columns.get(2).toString(), "{COLUMN_NAME=total, TYPE_NAME=numeric, DATA_TYPE=" + Types.NUMERIC
                    + ", COLUMN_SIZE=10, DECIMAL_DIGITS=2, NULLABLE=1, ORDINAL_POSITION=3}", "getColumns numeric(10,2)");
            check(columns.get(6).toString(), "{COLUMN_NAME=note, TYPE_NAME=varchar, DATA_TYPE=" + Types.VARCHAR
                    + ", COLUMN_SIZE=20, DECIMAL_DIGITS=0, NULLABLE=1, ORDINAL_POSITION=7}", "getColumns varchar(20)");
            check(columns.get(4).get("TYPE_NAME"), "timestamptz", "getColumns timestamptz");

            List<Map<String, Object>> pk = rows(meta.getPrimaryKeys(null, "public", "jdbc_orders"), "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            check(pk.toString(), "[{COLUMN_NAME=id, KEY_SEQ=1, PK_NAME=jdbc_orders_pkey}]", "getPrimaryKeys");

            List<Map<String, Object>> fks = rows(meta.getImportedKeys(null, "public", "jdbc_orders"),
                    "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME");
            check(fks.toString(), "[{PKTABLE_NAME=jdbc_customers, PKCOLUMN_NAME=id, FKTABLE_NAME=jdbc_orders, "
                    + "FKCOLUMN_NAME=customer_id, FK_NAME=jdbc_orders_customer_id_fkey}]", "getImportedKeys");
            List<Map<String, Object>> exported = rows(meta.getExportedKeys(null, "public", "jdbc_customers"), "FKTABLE_NAME", "FK_NAME");
            check(exported.toString(), "[{FKTABLE_NAME=jdbc_orders, FK_NAME=jdbc_orders_customer_id_fkey}]", "getExportedKeys");

            List<Map<String, Object>> indexes = rows(meta.getIndexInfo(null, "public", "jdbc_orders", false, false),
                    "INDEX_NAME", "NON_UNIQUE", "COLUMN_NAME", "ORDINAL_POSITION");
            check(indexes.toString(), "[{INDEX_NAME=jdbc_orders_pkey, NON_UNIQUE=false, COLUMN_NAME=id, ORDINAL_POSITION=1}, "
                    + "{INDEX_NAME=jdbc_orders_due_idx, NON_UNIQUE=true, COLUMN_NAME=due, ORDINAL_POSITION=1}]", "getIndexInfo");
            List<Map<String, Object>> unique = rows(meta.getIndexInfo(null, "public", "jdbc_customers", true, false), "INDEX_NAME", "COLUMN_NAME");
            check(unique.toString(), "[{INDEX_NAME=jdbc_customers_name_key, COLUMN_NAME=name}, {INDEX_NAME=jdbc_customers_pkey, COLUMN_NAME=id}]",
                    "getIndexInfo unique only");

            List<Map<String, Object>> types = rows(meta.getTypeInfo(), "TYPE_NAME", "DATA_TYPE");
            check(types.stream().anyMatch(r -> "int4".equals(r.get("TYPE_NAME"))), true, "getTypeInfo lists int4");
            check(types.stream().anyMatch(r -> "timestamptz".equals(r.get("TYPE_NAME"))), true, "getTypeInfo lists timestamptz");
        }
        System.out.println("jdbc: ok");
    }
}
