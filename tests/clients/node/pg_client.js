// node-postgres (`pg`) against rhei: parameters (extended protocol), types, aggregate,
// transaction with rollback, SQLSTATEs. Exits non-zero on the first wrong answer; exit 3 if
// `pg` is not installed (`npm ci` in this directory).
'use strict';

let pg;
try {
  pg = require('pg');
} catch (e) {
  console.error(`node-postgres is not installed (npm ci in tests/clients/node): ${e.message}`);
  process.exit(3);
}
const assert = require('node:assert/strict');

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const T = 'node_items';

async function expectError(client, sql, params, sqlstate) {
  try {
    await client.query(sql, params);
  } catch (e) {
    assert.equal(e.code, sqlstate, `${sql}: ${e.message}`);
    return;
  }
  assert.fail(`${sql}: no error, expected SQLSTATE ${sqlstate}`);
}

async function main() {
  const client = new pg.Client({ host: arg('host') || '127.0.0.1', port: Number(arg('port')), user: 'rhei', database: 'rhei' });
  await client.connect();
  await client.query(
    `CREATE TABLE ${T} (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), ok boolean, seen timestamptz, day date)`,
  );
  const rows = [
    [1, 'apple', '1.50', true, new Date('2024-01-02T03:04:05Z'), '2024-01-02'],
    [2, 'pear', '2.25', false, new Date('2024-02-03T04:05:06.789Z'), '2024-02-03'],
    [3, 'plum', '10.00', true, null, null],
    [4, 'apple', '0.75', null, new Date('2023-12-31T23:59:59Z'), '2023-12-31'],
  ];
  for (const row of rows) {
    const r = await client.query(`INSERT INTO ${T} (id, name, price, ok, seen, day) VALUES ($1, $2, $3, $4, $5, $6)`, row);
    assert.equal(r.rowCount, 1);
    assert.equal(r.command, 'INSERT');
  }

  // pg parses by type OID: int4 -> number, numeric -> string, bool -> boolean,
  // timestamptz -> Date, date -> Date at local midnight.
  const res = await client.query(`SELECT id, name, price, ok, seen, day FROM ${T} WHERE id >= $1 ORDER BY id`, [1]);
  assert.deepEqual(res.fields.map((f) => f.name), ['id', 'name', 'price', 'ok', 'seen', 'day']);
  assert.deepEqual(res.fields.map((f) => f.dataTypeID), [23, 25, 1700, 16, 1184, 1082]);
  assert.equal(res.rows.length, 4);
  res.rows.forEach((got, i) => {
    const [id, name, price, ok, seen, day] = rows[i];
    assert.strictEqual(got.id, id);
    assert.strictEqual(got.name, name);
    assert.strictEqual(got.price, price);
    assert.strictEqual(got.ok, ok);
    if (seen === null) assert.strictEqual(got.seen, null);
    else {
      assert.ok(got.seen instanceof Date, `seen is a Date: ${got.seen}`);
      assert.equal(got.seen.toISOString(), seen.toISOString());
    }
    if (day === null) assert.strictEqual(got.day, null);
    else {
      assert.ok(got.day instanceof Date, `day is a Date: ${got.day}`);
      const local = `${got.day.getFullYear()}-${String(got.day.getMonth() + 1).padStart(2, '0')}-${String(got.day.getDate()).padStart(2, '0')}`;
      assert.equal(local, day);
    }
  });

  // Rows as arrays, typed parameters in WHERE.
  const byParams = await client.query({
    text: `SELECT id FROM ${T} WHERE name = $1 AND price = $2 AND ok = $3 AND day = $4`,
    values: ['pear', '2.25', false, '2024-02-03'],
    rowMode: 'array',
  });
  assert.deepEqual(byParams.rows, [[2]]);
  const named = await client.query({ name: 'by-time', text: `SELECT count(*) AS n FROM ${T} WHERE seen < $1`, values: [new Date('2024-01-15T00:00:00Z')] });
  assert.strictEqual(named.rows[0].n, '2', 'count(*) is bigint, a string in pg');
  const again = await client.query({ name: 'by-time', text: `SELECT count(*) AS n FROM ${T} WHERE seen < $1`, values: [new Date('2030-01-01T00:00:00Z')] });
  assert.strictEqual(again.rows[0].n, '3');

  const agg = await client.query(
    `SELECT name, count(*) AS n, sum(price) AS total, avg(price) AS mean FROM ${T} GROUP BY name ORDER BY name`,
  );
  assert.deepEqual(agg.rows.map((r) => [r.name, r.n, r.total]), [['apple', '2', '2.25'], ['pear', '1', '2.25'], ['plum', '1', '10.00']]);
  assert.equal(Number(agg.rows[0].mean).toFixed(3), '1.125');

  await client.query('BEGIN');
  await client.query(`INSERT INTO ${T} (id, name) VALUES ($1, $2)`, [10, 'ghost']);
  const upd = await client.query(`UPDATE ${T} SET price = price + 1 WHERE name = $1`, ['apple']);
  assert.equal(upd.rowCount, 2);
  assert.equal((await client.query(`SELECT count(*) AS n FROM ${T}`)).rows[0].n, '5');
  await client.query('ROLLBACK');
  const after = await client.query(`SELECT count(*) AS n, sum(price) AS s FROM ${T}`);
  assert.deepEqual([after.rows[0].n, after.rows[0].s], ['4', '14.50']);

  await expectError(client, `INSERT INTO ${T} (id, name) VALUES ($1, $2)`, [1, 'dup'], '23505');
  await expectError(client, 'SELECT * FROM node_no_such_table', [], '42P01');
  await client.query('BEGIN');
  await expectError(client, `INSERT INTO ${T} (id, name) VALUES ($1, $2)`, [2, 'dup'], '23505');
  await expectError(client, 'SELECT 1', [], '25P02');
  await client.query('ROLLBACK');
  assert.deepEqual((await client.query({ text: 'SELECT $1::int AS x', values: [7], rowMode: 'array' })).rows, [[7]]);
  await client.end();

  const pool = new pg.Pool({ host: arg('host') || '127.0.0.1', port: Number(arg('port')), user: 'rhei', database: 'rhei', max: 2 });
  const counts = await Promise.all([1, 2, 3, 4].map((i) => pool.query(`SELECT count(*) AS n FROM ${T} WHERE id <= $1`, [i])));
  assert.deepEqual(counts.map((r) => r.rows[0].n), ['1', '2', '3', '4']);
  await pool.end();
  console.log('node-postgres: ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
