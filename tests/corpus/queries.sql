-- query: all_customers
SELECT id, name, email, city, tier, credit_limit, score, active, signup_date, last_login FROM customers ORDER BY id;

-- query: all_products
SELECT id, sku, name, category, price, cost, weight_kg, stock, discontinued, released FROM products ORDER BY id;

-- query: all_orders
SELECT id, customer_id, order_date, placed_at, shipped_at, status, amount, discount, priority, note FROM orders ORDER BY id;

-- query: all_order_items
SELECT order_id, line_no, product_id, quantity, unit_price, rating FROM order_items ORDER BY order_id, line_no;

-- query: filter_eq_int
SELECT id, name FROM customers WHERE tier = 2 ORDER BY id;

-- query: filter_neq_text
SELECT id, status FROM orders WHERE status <> 'delivered' ORDER BY id;

-- query: filter_lt_numeric
SELECT id, name, price FROM products WHERE price < 10 ORDER BY id;

-- query: filter_le_ge_numeric
SELECT id, amount FROM orders WHERE amount >= 25.5 AND amount <= 100 ORDER BY id;

-- query: filter_gt_negative
SELECT id, amount FROM orders WHERE amount > -30 AND amount < 0 ORDER BY id;

-- query: filter_between_int
SELECT id, name, stock FROM products WHERE stock BETWEEN 5 AND 12 ORDER BY id;

-- query: filter_not_between
SELECT id, price FROM products WHERE price NOT BETWEEN 5 AND 60 ORDER BY id;

-- query: filter_between_dates
SELECT id, order_date FROM orders WHERE order_date BETWEEN '2023-01-01' AND '2023-12-31' ORDER BY id;

-- query: filter_in_list_int
SELECT id, name, tier FROM customers WHERE id IN (1, 3, 5, 7, 11, 13, 99) ORDER BY id;

-- query: filter_in_list_text
SELECT id, status FROM orders WHERE status IN ('pending', 'cancelled') ORDER BY id;

-- query: filter_not_in_list
SELECT id, category FROM products WHERE category NOT IN ('Books', 'Toys') ORDER BY id;

-- query: filter_not_in_with_null
SELECT id, tier FROM customers WHERE tier NOT IN (1, NULL) ORDER BY id;

-- query: filter_in_with_null
SELECT id, tier FROM customers WHERE tier IN (1, NULL) ORDER BY id;

-- query: filter_like_prefix
SELECT id, name FROM products WHERE name LIKE 'S%' ORDER BY id;

-- query: filter_like_case_sensitive
SELECT id, name FROM customers WHERE name LIKE 'a%' ORDER BY id;

-- query: filter_like_underscore
SELECT id, sku FROM products WHERE sku LIKE 'SKU-00_' ORDER BY id;

-- query: filter_like_contains
SELECT id, name FROM customers WHERE name LIKE '%o%' ORDER BY id;

-- query: filter_not_like
SELECT id, email FROM customers WHERE email NOT LIKE '%.org' ORDER BY id;

-- query: filter_ilike
SELECT id, name FROM customers WHERE name ILIKE 'alice%' ORDER BY id;

-- query: filter_ilike_contains
SELECT id, sku FROM products WHERE sku ILIKE '%x' ORDER BY id;

-- query: filter_like_quote
SELECT id, name FROM customers WHERE name LIKE '%''%' ORDER BY id;

-- query: filter_like_leading_space
SELECT id, name FROM customers WHERE name LIKE ' %' ORDER BY id;

-- query: filter_is_null
SELECT id, name FROM customers WHERE email IS NULL ORDER BY id;

-- query: filter_is_not_null
SELECT id, note FROM orders WHERE note IS NOT NULL ORDER BY id;

-- query: filter_null_eq_null
SELECT count(*) AS c FROM customers WHERE tier = NULL;

-- query: filter_and_or
SELECT id, city, tier FROM customers WHERE (city = 'Paris' OR city = 'London') AND tier >= 2 ORDER BY id;

-- query: filter_or_precedence
SELECT id, city, tier FROM customers WHERE city = 'Paris' OR city = 'London' AND tier >= 2 ORDER BY id;

-- query: filter_not
SELECT id, name FROM customers WHERE NOT active ORDER BY id;

-- query: filter_not_compound
SELECT id, status, priority FROM orders WHERE NOT (status = 'delivered' OR priority > 2) ORDER BY id;

-- query: filter_bool_true
SELECT id, name FROM products WHERE discontinued ORDER BY id;

-- query: filter_bool_eq_false
SELECT id, name FROM products WHERE discontinued = false ORDER BY id;

-- query: filter_bool_is_not_true
SELECT id, name, discontinued FROM products WHERE discontinued IS NOT TRUE ORDER BY id;

-- query: filter_bool_is_null
SELECT id, name FROM products WHERE discontinued IS NULL ORDER BY id;

-- query: filter_is_distinct_from
SELECT id, city FROM customers WHERE city IS DISTINCT FROM 'Paris' ORDER BY id;

-- query: filter_is_not_distinct_from_null
SELECT id, tier FROM customers WHERE tier IS NOT DISTINCT FROM NULL ORDER BY id;

-- query: filter_real_column
SELECT id, score FROM customers WHERE score > 3.5 ORDER BY id;

-- query: filter_real_eq
SELECT id, score FROM customers WHERE score = 3.5 ORDER BY id;

-- query: filter_double_column
SELECT id, weight_kg FROM products WHERE weight_kg <= 0.25 ORDER BY id;

-- query: filter_smallint_range
SELECT id, priority FROM orders WHERE priority < 2 OR priority >= 5 ORDER BY id;

-- query: filter_bigint
SELECT id, amount FROM orders WHERE id > 1040 ORDER BY id;

-- query: filter_date_literal_typed
SELECT id, signup_date FROM customers WHERE signup_date < DATE '2022-01-01' ORDER BY id;

-- query: filter_date_gt_untyped
SELECT id, name, released FROM products WHERE released > '2023-01-01' ORDER BY id;

-- query: filter_timestamptz_literal
SELECT id, placed_at FROM orders WHERE placed_at >= '2024-01-01 00:00:00+00' ORDER BY id;

-- query: filter_timestamptz_offset_literal
SELECT id, placed_at FROM orders WHERE placed_at < '2022-07-19 08:00:00+02' ORDER BY id;

-- query: filter_timestamptz_exact_instant
SELECT id FROM orders WHERE placed_at = '2023-08-08 06:59:43+02' ORDER BY id;

-- query: filter_timestamp_naive
SELECT id, shipped_at FROM orders WHERE shipped_at >= '2024-01-01 00:00:00' ORDER BY id;

-- query: filter_timestamptz_between
SELECT id, last_login FROM customers WHERE last_login BETWEEN '2024-03-01 00:00:00+00' AND '2024-06-30 23:59:59+00' ORDER BY id;

-- query: filter_column_compare
SELECT id, price, cost FROM products WHERE cost * 2 > price ORDER BY id;

-- query: filter_varchar_eq
SELECT id, sku FROM products WHERE sku = 'SKU-010' ORDER BY id;

-- query: filter_text_lt
SELECT id, name FROM customers WHERE name < 'M' ORDER BY id;

-- query: filter_case_sensitive_eq
SELECT id, status FROM orders WHERE status = 'Shipped' ORDER BY id;

-- query: filter_lower_eq
SELECT id, status FROM orders WHERE lower(status) = 'shipped' ORDER BY id;

-- query: filter_empty_result
SELECT id, name FROM customers WHERE id > 1000 ORDER BY id;

-- query: coalesce_text
SELECT id, coalesce(email, 'no email') AS email FROM customers ORDER BY id;

-- query: coalesce_multiple
SELECT id, coalesce(note, status, 'x') AS info FROM orders ORDER BY id;

-- query: coalesce_numeric
SELECT id, coalesce(discount, 0) AS discount FROM orders ORDER BY id;

-- query: coalesce_int_tier
SELECT id, coalesce(tier, -1) AS tier FROM customers ORDER BY id;

-- query: nullif_basic
SELECT id, nullif(stock, 0) AS stock FROM products ORDER BY id;

-- query: nullif_text
SELECT id, nullif(city, 'Paris') AS city FROM customers ORDER BY id;

-- query: division_by_nullif
SELECT id, round(price / nullif(stock, 0), 4) AS per_unit FROM products WHERE stock > 0 AND stock <= 12 ORDER BY id;

-- query: case_searched
SELECT id, CASE WHEN amount < 0 THEN 'refund' WHEN amount < 50 THEN 'small' WHEN amount < 500 THEN 'medium' ELSE 'large' END AS bucket FROM orders ORDER BY id;

-- query: case_simple
SELECT id, CASE tier WHEN 1 THEN 'gold' WHEN 2 THEN 'silver' WHEN 3 THEN 'bronze' END AS tier_name FROM customers ORDER BY id;

-- query: case_simple_else
SELECT id, CASE tier WHEN 1 THEN 'gold' ELSE 'other' END AS tier_name FROM customers ORDER BY id;

-- query: case_null_branch
SELECT id, CASE WHEN discount IS NULL THEN 'none' WHEN discount = 0 THEN 'zero' ELSE 'some' END AS d FROM orders ORDER BY id;

-- query: case_in_where
SELECT id, name FROM products WHERE CASE WHEN category IS NULL THEN 'Misc' ELSE category END = 'Misc' ORDER BY id;

-- query: null_arith
SELECT id, credit_limit + tier AS x, tier * 2 AS y FROM customers ORDER BY id;

-- query: null_concat
SELECT id, name || ' <' || email || '>' AS label FROM customers ORDER BY id;

-- query: null_comparison_result
SELECT id, tier > 1 AS gt1, tier IS NULL AS isnull FROM customers ORDER BY id;

-- query: null_in_boolean_logic
SELECT id, (discontinued OR stock > 10) AS a, (discontinued AND stock > 10) AS b FROM products ORDER BY id;

-- query: agg_count_star
SELECT count(*) AS n FROM orders;

-- query: agg_count_col_nulls
SELECT count(*) AS total, count(email) AS emails, count(city) AS cities, count(tier) AS tiers, count(score) AS scores FROM customers;

-- query: agg_count_distinct
SELECT count(DISTINCT city) AS cities, count(DISTINCT tier) AS tiers, count(DISTINCT credit_limit) AS limits FROM customers;

-- query: agg_count_distinct_orders
SELECT count(DISTINCT customer_id) AS customers, count(DISTINCT status) AS statuses FROM orders;

-- query: agg_sum_int
SELECT sum(quantity) AS q, sum(product_id) AS p FROM order_items;

-- query: agg_sum_numeric
SELECT sum(amount) AS total, sum(discount) AS disc FROM orders;

-- query: agg_sum_price
SELECT sum(price) AS s, sum(cost) AS c FROM products;

-- query: agg_sum_double_exact
SELECT (SELECT sum(weight_kg) FROM products) AS w, (SELECT sum(rating) FROM order_items) AS r;

-- query: agg_sum_real
SELECT sum(score) AS s FROM customers;

-- query: agg_min_max_int
SELECT min(stock) AS lo, max(stock) AS hi FROM products;

-- query: agg_min_max_numeric
SELECT min(amount) AS lo, max(amount) AS hi, min(discount) AS dlo, max(discount) AS dhi FROM orders;

-- query: agg_min_max_text
SELECT min(name) AS lo, max(name) AS hi, min(city) AS clo, max(city) AS chi FROM customers;

-- query: agg_min_max_date
SELECT min(signup_date) AS lo, max(signup_date) AS hi FROM customers;

-- query: agg_min_max_timestamptz
SELECT min(placed_at) AS first_order, max(placed_at) AS last_order FROM orders;

-- query: agg_min_max_timestamp
SELECT min(shipped_at) AS lo, max(shipped_at) AS hi FROM orders;

-- query: agg_min_max_double
SELECT (SELECT min(weight_kg) FROM products) AS lo, (SELECT max(weight_kg) FROM products) AS hi, (SELECT min(rating) FROM order_items) AS rlo;

-- query: agg_min_max_real
SELECT min(score) AS lo, max(score) AS hi FROM customers;

-- query: agg_avg_int_rounded
SELECT round(avg(quantity), 4) AS avg_qty FROM order_items;

-- query: agg_avg_numeric_rounded
SELECT round(avg(amount), 4) AS avg_amount, round(avg(discount), 4) AS avg_disc FROM orders;

-- query: agg_avg_double_rounded
SELECT round(avg(rating)::numeric, 4) AS avg_rating FROM order_items;

-- query: agg_avg_real_rounded
SELECT round(avg(score)::numeric, 4) AS avg_score FROM customers;

-- query: agg_avg_smallint
SELECT (SELECT round(avg(tier), 4) FROM customers) AS avg_tier, (SELECT round(avg(priority), 4) FROM orders) AS avg_pri;

-- query: agg_empty_input
SELECT count(*) AS n, count(id) AS c, sum(amount) AS s, min(amount) AS lo, max(amount) AS hi, avg(amount) AS a FROM orders WHERE id < 0;

-- query: agg_all_null_input
SELECT count(tier) AS c, sum(tier) AS s, max(tier) AS m FROM customers WHERE tier IS NULL;

-- query: agg_sum_case
SELECT sum(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS delivered, sum(CASE WHEN amount < 0 THEN amount ELSE 0 END) AS refunds FROM orders;

-- query: agg_count_case_null
SELECT count(CASE WHEN priority >= 3 THEN 1 END) AS high, count(CASE WHEN priority < 3 THEN 1 END) AS low FROM orders;

-- query: agg_bool_and_or
SELECT bool_and(active) AS all_active, bool_or(active) AS any_active FROM customers;

-- query: agg_expression
SELECT sum(quantity * unit_price) AS revenue FROM order_items;

-- query: group_by_status
SELECT status, count(*) AS n, sum(amount) AS total FROM orders GROUP BY status ORDER BY status;

-- query: group_by_null_group
SELECT city, count(*) AS n FROM customers GROUP BY city ORDER BY city NULLS FIRST;

-- query: group_by_two_cols
SELECT city, tier, count(*) AS n FROM customers GROUP BY city, tier ORDER BY city NULLS LAST, tier NULLS LAST;

-- query: group_by_expression
SELECT lower(status) AS s, count(*) AS n FROM orders GROUP BY lower(status) ORDER BY s;

-- query: group_by_ordinal
SELECT category, count(*) AS n FROM products GROUP BY 1 ORDER BY 1 NULLS FIRST;

-- query: group_by_bool
SELECT active, count(*) AS n, round(avg(tier), 4) AS avg_tier FROM customers GROUP BY active ORDER BY active;

-- query: group_by_bool_nullable
SELECT discontinued, count(*) AS n FROM products GROUP BY discontinued ORDER BY discontinued NULLS FIRST;

-- query: group_by_year
SELECT extract(year FROM order_date)::int AS y, count(*) AS n, sum(amount) AS total FROM orders GROUP BY extract(year FROM order_date)::int ORDER BY y;

-- query: group_by_min_max_per_group
SELECT category, min(price) AS lo, max(price) AS hi, sum(stock) AS stock FROM products GROUP BY category ORDER BY category NULLS LAST;

-- query: group_by_avg_numeric
SELECT status, round(avg(amount), 2) AS avg_amount FROM orders GROUP BY status ORDER BY status;

-- query: group_by_count_distinct
SELECT order_id, count(DISTINCT product_id) AS products, count(*) AS lines FROM order_items GROUP BY order_id ORDER BY order_id;

-- query: having_count
SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id HAVING count(*) >= 3 ORDER BY customer_id;

-- query: having_sum
SELECT customer_id, sum(amount) AS total FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING sum(amount) > 100 ORDER BY customer_id;

-- query: having_without_select_agg
SELECT category FROM products GROUP BY category HAVING max(price) >= 100 ORDER BY category NULLS FIRST;

-- query: having_and_where
SELECT product_id, sum(quantity) AS q FROM order_items WHERE quantity > 0 GROUP BY product_id HAVING sum(quantity) >= 5 ORDER BY q DESC, product_id;

-- query: having_avg
SELECT city, round(avg(credit_limit), 2) AS avg_credit FROM customers GROUP BY city HAVING avg(credit_limit) > 500 ORDER BY city NULLS LAST;

-- query: group_order_by_agg
SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY n DESC, status;

-- query: group_by_limit
SELECT customer_id, sum(amount) AS total FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY total DESC, customer_id LIMIT 5;

-- query: inner_join_basic
SELECT o.id, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id;

-- query: inner_join_three
SELECT oi.order_id, oi.line_no, p.name, oi.quantity, o.status FROM order_items oi JOIN products p ON p.id = oi.product_id JOIN orders o ON o.id = oi.order_id ORDER BY oi.order_id, oi.line_no;

-- query: inner_join_four_agg
SELECT c.name, sum(oi.quantity * oi.unit_price) AS spent FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id GROUP BY c.id, c.name ORDER BY spent DESC, c.id;

-- query: inner_join_using_where
SELECT o.id, c.city FROM orders o INNER JOIN customers c ON c.id = o.customer_id WHERE c.city = 'Paris' ORDER BY o.id;

-- query: inner_join_extra_condition
SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id AND o.priority = c.tier ORDER BY o.id;

-- query: join_comma_syntax
SELECT o.id, c.name FROM orders o, customers c WHERE c.id = o.customer_id AND o.amount > 90 ORDER BY o.id;

-- query: left_join_customers_orders
SELECT c.id, c.name, o.id AS order_id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id ORDER BY c.id, o.id NULLS FIRST;

-- query: left_join_count
SELECT c.id, count(o.id) AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id ORDER BY c.id;

-- query: left_join_anti
SELECT c.id, c.name FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.id IS NULL ORDER BY c.id;

-- query: left_join_filter_in_on
SELECT c.id, o.id AS order_id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id AND o.status = 'delivered' ORDER BY c.id, o.id;

-- query: left_join_missing_product
SELECT oi.order_id, oi.line_no, oi.product_id, p.name FROM order_items oi LEFT JOIN products p ON p.id = oi.product_id ORDER BY oi.order_id, oi.line_no;

-- query: left_join_coalesce
SELECT p.id, coalesce(sum(oi.quantity), 0) AS sold FROM products p LEFT JOIN order_items oi ON oi.product_id = p.id GROUP BY p.id ORDER BY p.id;

-- query: right_join_basic
SELECT o.id AS order_id, c.id AS customer_id, c.name FROM orders o RIGHT JOIN customers c ON c.id = o.customer_id ORDER BY c.id, o.id;

-- query: right_join_products
SELECT p.id, p.name, oi.order_id FROM order_items oi RIGHT JOIN products p ON p.id = oi.product_id ORDER BY p.id, oi.order_id NULLS LAST, oi.line_no;

-- query: full_join_basic
SELECT c.id AS cid, o.id AS oid FROM customers c FULL JOIN orders o ON o.customer_id = c.id ORDER BY c.id NULLS FIRST, o.id NULLS FIRST;

-- query: full_join_items_products
SELECT oi.order_id, oi.line_no, p.id AS pid FROM order_items oi FULL OUTER JOIN products p ON p.id = oi.product_id ORDER BY p.id NULLS LAST, oi.order_id NULLS LAST, oi.line_no NULLS LAST;

-- query: full_join_unmatched_only
SELECT c.id AS cid, o.id AS oid FROM customers c FULL JOIN orders o ON o.customer_id = c.id WHERE c.id IS NULL OR o.id IS NULL ORDER BY c.id NULLS FIRST, o.id NULLS FIRST;

-- query: cross_join_small
SELECT c.id, p.id FROM customers c CROSS JOIN products p WHERE c.id <= 2 AND p.id <= 3 ORDER BY c.id, p.id;

-- query: self_join_same_city
SELECT a.id AS a_id, b.id AS b_id, a.city FROM customers a JOIN customers b ON a.city = b.city AND a.id < b.id ORDER BY a.id, b.id;

-- query: self_join_same_price
SELECT a.id, b.id AS other, a.price FROM products a JOIN products b ON a.price = b.price AND a.id <> b.id ORDER BY a.id, b.id;

-- query: self_join_next_order
SELECT o1.id, o2.id AS next_id FROM orders o1 JOIN orders o2 ON o2.id = o1.id + 1 WHERE o1.customer_id = o2.customer_id ORDER BY o1.id;

-- query: self_join_non_equi
SELECT a.id, count(b.id) AS cheaper FROM products a LEFT JOIN products b ON b.price < a.price GROUP BY a.id ORDER BY a.id;

-- query: join_on_text_lower
SELECT a.id, b.id AS other FROM customers a JOIN customers b ON lower(a.name) = lower(b.name) AND a.id < b.id ORDER BY a.id, b.id;

-- query: join_group_having
SELECT p.category, sum(oi.quantity) AS q FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY p.category HAVING sum(oi.quantity) > 0 ORDER BY p.category NULLS FIRST;

-- query: subquery_scalar_select
SELECT id, amount, (SELECT max(amount) FROM orders) AS max_amount FROM orders WHERE id <= 1005 ORDER BY id;

-- query: subquery_scalar_where
SELECT id, price FROM products WHERE price > (SELECT avg(price) FROM products) ORDER BY id;

-- query: subquery_scalar_arith
SELECT id, amount - (SELECT min(amount) FROM orders) AS above_min FROM orders ORDER BY id;

-- query: subquery_in
SELECT id, name FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE status = 'returned') ORDER BY id;

-- query: subquery_not_in
SELECT id, name FROM products WHERE id NOT IN (SELECT product_id FROM order_items) ORDER BY id;

-- query: subquery_not_in_with_nulls
SELECT id, name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders) ORDER BY id;

-- query: subquery_not_in_filtered_nulls
SELECT id, name FROM customers WHERE id NOT IN (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL) ORDER BY id;

-- query: subquery_exists
SELECT c.id, c.name FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.amount >= 100) ORDER BY c.id;

-- query: subquery_not_exists
SELECT c.id, c.name FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) ORDER BY c.id;

-- query: subquery_not_exists_items
SELECT o.id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = o.id) ORDER BY o.id;

-- query: subquery_correlated_scalar
SELECT c.id, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) AS n FROM customers c ORDER BY c.id;

-- query: subquery_correlated_sum
SELECT c.id, (SELECT sum(o.amount) FROM orders o WHERE o.customer_id = c.id) AS total FROM customers c ORDER BY c.id;

-- query: subquery_correlated_where
SELECT o.id, o.customer_id, o.amount FROM orders o WHERE o.amount > (SELECT avg(o2.amount) FROM orders o2 WHERE o2.customer_id = o.customer_id) ORDER BY o.id;

-- query: subquery_correlated_max
SELECT p.id, p.name, p.price FROM products p WHERE p.price = (SELECT max(p2.price) FROM products p2 WHERE p2.category = p.category) ORDER BY p.id;

-- query: subquery_in_from
SELECT t.status, t.n FROM (SELECT status, count(*) AS n FROM orders GROUP BY status) t WHERE t.n > 5 ORDER BY t.status;

-- query: subquery_in_from_join
SELECT c.name, t.total FROM customers c JOIN (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id) t ON t.customer_id = c.id ORDER BY t.total DESC, c.id;

-- query: subquery_in_from_nested
SELECT max(n) AS max_lines FROM (SELECT order_id, count(*) AS n FROM order_items GROUP BY order_id) x;

-- query: subquery_in_select_and_where
SELECT id, name, (SELECT count(*) FROM order_items oi WHERE oi.product_id = p.id) AS times FROM products p WHERE id IN (SELECT product_id FROM order_items WHERE quantity > 2) ORDER BY id;

-- query: subquery_any_in_with_expr
SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE tier = 1) AND amount > 0 ORDER BY id;

-- query: subquery_scalar_null_result
SELECT id, (SELECT max(amount) FROM orders o WHERE o.customer_id = c.id AND o.amount > 500) AS big FROM customers c WHERE id <= 5 ORDER BY id;

-- query: cte_basic
WITH big AS (SELECT id, amount FROM orders WHERE amount >= 100) SELECT id, amount FROM big ORDER BY id;

-- query: cte_agg_join
WITH totals AS (SELECT customer_id, sum(amount) AS total, count(*) AS n FROM orders GROUP BY customer_id) SELECT c.id, c.name, t.total, t.n FROM customers c JOIN totals t ON t.customer_id = c.id ORDER BY c.id;

-- query: cte_multiple
WITH rev AS (SELECT order_id, sum(quantity * unit_price) AS rev FROM order_items GROUP BY order_id), o AS (SELECT id, customer_id, status FROM orders WHERE status <> 'cancelled') SELECT o.id, o.status, r.rev FROM o JOIN rev r ON r.order_id = o.id ORDER BY o.id;

-- query: cte_chained
WITH a AS (SELECT id, price FROM products WHERE price > 5), b AS (SELECT id, price * 2 AS dbl FROM a) SELECT id, dbl FROM b ORDER BY dbl DESC, id;

-- query: cte_used_twice
WITH t AS (SELECT customer_id, count(*) AS n FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id) SELECT customer_id, n FROM t WHERE n = (SELECT max(n) FROM t) ORDER BY customer_id;

-- query: cte_with_window
WITH ranked AS (SELECT id, category, price, row_number() OVER (PARTITION BY category ORDER BY price DESC, id) AS rn FROM products) SELECT id, category, price FROM ranked WHERE rn = 1 ORDER BY category NULLS LAST;

-- query: cte_left_join
WITH active_c AS (SELECT id, name FROM customers WHERE active) SELECT a.id, count(o.id) AS n FROM active_c a LEFT JOIN orders o ON o.customer_id = a.id GROUP BY a.id ORDER BY a.id;

-- query: union_distinct
SELECT city AS v FROM customers UNION SELECT category FROM products ORDER BY v NULLS FIRST;

-- query: union_all
SELECT id, 'customer' AS kind FROM customers WHERE id <= 3 UNION ALL SELECT id, 'product' FROM products WHERE id <= 3 ORDER BY kind, id;

-- query: union_all_duplicates
SELECT tier FROM customers WHERE tier = 1 UNION ALL SELECT priority FROM orders WHERE priority = 1 ORDER BY tier;

-- query: union_distinct_ints
SELECT tier AS x FROM customers UNION SELECT priority FROM orders ORDER BY x NULLS LAST;

-- query: intersect_basic
SELECT customer_id AS id FROM orders INTERSECT SELECT id FROM customers WHERE tier = 2 ORDER BY id;

-- query: except_basic
SELECT id FROM customers EXCEPT SELECT customer_id FROM orders ORDER BY id;

-- query: except_text
SELECT lower(city) AS c FROM customers WHERE city IS NOT NULL EXCEPT SELECT 'tokyo' ORDER BY c;

-- query: intersect_text
SELECT name FROM products INTERSECT SELECT name FROM products WHERE price < 10 ORDER BY name;

-- query: union_in_subquery
SELECT count(*) AS n FROM (SELECT customer_id FROM orders UNION SELECT id FROM customers) u;

-- query: union_with_agg
SELECT 'orders' AS t, count(*) AS n FROM orders UNION ALL SELECT 'items', count(*) FROM order_items UNION ALL SELECT 'products', count(*) FROM products ORDER BY t;

-- query: window_row_number
SELECT id, customer_id, row_number() OVER (ORDER BY placed_at, id) AS rn FROM orders ORDER BY rn;

-- query: window_row_number_partition
SELECT id, customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY order_date, id) AS rn FROM orders ORDER BY customer_id NULLS FIRST, rn;

-- query: window_rank_ties
SELECT id, price, rank() OVER (ORDER BY price DESC) AS r FROM products ORDER BY r, id;

-- query: window_dense_rank_ties
SELECT id, price, dense_rank() OVER (ORDER BY price DESC) AS r FROM products ORDER BY r, id;

-- query: window_rank_partition
SELECT id, category, price, rank() OVER (PARTITION BY category ORDER BY price) AS r FROM products ORDER BY category NULLS FIRST, r, id;

-- query: window_lag
SELECT id, amount, lag(amount) OVER (ORDER BY id) AS prev FROM orders ORDER BY id;

-- query: window_lead
SELECT id, amount, lead(amount) OVER (ORDER BY id) AS nxt FROM orders ORDER BY id;

-- query: window_lag_offset_default
SELECT id, stock, lag(stock, 2, -1) OVER (ORDER BY id) AS prev2 FROM products ORDER BY id;

-- query: window_lead_partition
SELECT id, customer_id, order_date, lead(order_date) OVER (PARTITION BY customer_id ORDER BY order_date, id) AS next_date FROM orders WHERE customer_id IS NOT NULL ORDER BY customer_id, order_date, id;

-- query: window_sum_partition
SELECT id, customer_id, amount, sum(amount) OVER (PARTITION BY customer_id) AS cust_total FROM orders ORDER BY id;

-- query: window_running_total
SELECT id, amount, sum(amount) OVER (ORDER BY id) AS running FROM orders ORDER BY id;

-- query: window_running_total_rows
SELECT id, amount, sum(amount) OVER (ORDER BY placed_at, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM orders ORDER BY placed_at, id;

-- query: window_running_partition
SELECT order_id, line_no, quantity, sum(quantity) OVER (PARTITION BY order_id ORDER BY line_no) AS running FROM order_items ORDER BY order_id, line_no;

-- query: window_running_range_peers
SELECT id, price, sum(price) OVER (ORDER BY price) AS running FROM products ORDER BY price, id;

-- query: window_count_partition
SELECT id, city, count(*) OVER (PARTITION BY city) AS n FROM customers ORDER BY id;

-- query: window_first_value
SELECT id, category, price, first_value(name) OVER (PARTITION BY category ORDER BY price, id) AS cheapest FROM products ORDER BY id;

-- query: window_first_value_desc
SELECT id, customer_id, first_value(id) OVER (PARTITION BY customer_id ORDER BY amount DESC, id) AS biggest_order FROM orders ORDER BY id;

-- query: window_last_value_full_frame
SELECT id, category, last_value(id) OVER (PARTITION BY category ORDER BY price, id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_id FROM products ORDER BY id;

-- query: window_min_max_partition
SELECT id, city, credit_limit, min(credit_limit) OVER (PARTITION BY city) AS lo, max(credit_limit) OVER (PARTITION BY city) AS hi FROM customers ORDER BY id;

-- query: window_avg_rounded
SELECT id, tier, round(avg(credit_limit) OVER (PARTITION BY tier), 2) AS avg_credit FROM customers ORDER BY id;

-- query: window_moving_sum
SELECT order_id, line_no, quantity, sum(quantity) OVER (ORDER BY order_id, line_no ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS moving FROM order_items ORDER BY order_id, line_no;

-- query: window_ntile
SELECT id, ntile(4) OVER (ORDER BY id) AS bucket FROM customers ORDER BY id;

-- query: window_multiple
SELECT id, amount, row_number() OVER (ORDER BY amount, id) AS rn, rank() OVER w AS r, dense_rank() OVER w AS dr FROM orders WINDOW w AS (ORDER BY amount) ORDER BY amount, id;

-- query: window_top_n_per_group
SELECT id, customer_id, amount FROM (SELECT id, customer_id, amount, row_number() OVER (PARTITION BY customer_id ORDER BY amount DESC, id) AS rn FROM orders WHERE customer_id IS NOT NULL) t WHERE rn <= 2 ORDER BY customer_id, rn;

-- query: window_over_aggregate
SELECT status, count(*) AS n, sum(count(*)) OVER () AS total FROM orders GROUP BY status ORDER BY status;

-- query: window_rank_over_agg
SELECT customer_id, sum(amount) AS total, rank() OVER (ORDER BY sum(amount) DESC) AS r FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY r, customer_id;

-- query: window_lag_diff
SELECT id, amount, amount - lag(amount) OVER (ORDER BY id) AS diff FROM orders ORDER BY id;

-- query: window_partition_by_expr
SELECT id, signup_date, row_number() OVER (PARTITION BY extract(year FROM signup_date) ORDER BY signup_date, id) AS rn FROM customers ORDER BY id;

-- query: window_empty_over
SELECT id, count(*) OVER () AS total, sum(stock) OVER () AS stock_total FROM products ORDER BY id;

-- query: string_upper_lower
SELECT id, upper(name) AS u, lower(name) AS l FROM customers ORDER BY id;

-- query: string_length
SELECT id, name, length(name) AS len FROM customers ORDER BY id;

-- query: string_length_null
SELECT id, length(email) AS len FROM customers ORDER BY id;

-- query: string_substr
SELECT id, substr(name, 1, 3) AS s3 FROM products ORDER BY id;

-- query: string_substr_two_args
SELECT id, substr(sku, 5) AS num FROM products ORDER BY id;

-- query: string_substring_from_for
SELECT id, substring(name FROM 2 FOR 4) AS s FROM customers ORDER BY id;

-- query: string_replace
SELECT id, replace(sku, '-', '_') AS sku2 FROM products ORDER BY id;

-- query: string_replace_quote
SELECT id, replace(name, '''', '') AS cleaned FROM customers WHERE name LIKE '%''%' ORDER BY id;

-- query: string_trim
SELECT id, trim(name) AS t, length(trim(name)) AS len FROM customers ORDER BY id;

-- query: string_ltrim_rtrim
SELECT id, '[' || ltrim(name) || ']' AS l, '[' || rtrim(name) || ']' AS r FROM customers WHERE id IN (1, 5) ORDER BY id;

-- query: string_trim_note
SELECT id, '[' || trim(note) || ']' AS t FROM orders WHERE note IS NOT NULL ORDER BY id;

-- query: string_trim_chars
SELECT id, trim(both 'x' FROM sku) AS t, ltrim(sku, 's') AS l, rtrim(sku, 'x') AS r FROM products ORDER BY id;

-- query: string_concat_operator
SELECT id, name || ' (' || sku || ')' AS label FROM products ORDER BY id;

-- query: string_concat_with_cast
SELECT id, 'order#' || id::text || ':' || status AS label FROM orders ORDER BY id;

-- query: string_concat_function
SELECT id, concat(name, ' - ', city) AS label FROM customers ORDER BY id;

-- query: string_position
SELECT id, name, position(' ' IN name) AS pos FROM customers ORDER BY id;

-- query: string_strpos
SELECT id, email, strpos(email, '@') AS at_pos FROM customers ORDER BY id;

-- query: string_email_domain
SELECT id, substr(email, strpos(email, '@') + 1) AS domain FROM customers WHERE email IS NOT NULL ORDER BY id;

-- query: string_left_right
SELECT id, left(sku, 3) AS l, right(sku, 3) AS r FROM products ORDER BY id;

-- query: string_lpad_rpad
SELECT id, lpad(id::text, 5, '0') AS padded, rpad(status, 12, '.') AS r FROM orders ORDER BY id;

-- query: string_lpad_truncate
SELECT id, lpad(name, 4, '*') AS l4, rpad(name, 3, '*') AS r3 FROM products ORDER BY id;

-- query: string_upper_group
SELECT upper(city) AS c, count(*) AS n FROM customers GROUP BY upper(city) ORDER BY c NULLS LAST;

-- query: string_order_by_text
SELECT id, name FROM customers ORDER BY name, id;

-- query: string_order_by_lower
SELECT id, name FROM customers ORDER BY lower(name), id;

-- query: string_compare_functions
SELECT id FROM customers WHERE upper(left(trim(name), 1)) = 'A' ORDER BY id;

-- query: string_nested_functions
SELECT id, upper(substr(replace(trim(name), ' ', '_'), 1, 6)) AS code FROM customers ORDER BY id;

-- query: string_length_varchar
SELECT sku, length(sku) AS len FROM products WHERE length(sku) > 7 ORDER BY sku;

-- query: string_distinct_lower
SELECT DISTINCT lower(category) AS c FROM products WHERE category IS NOT NULL ORDER BY c;

-- query: date_extract_parts
SELECT id, extract(year FROM order_date)::int AS y, extract(month FROM order_date)::int AS m, extract(day FROM order_date)::int AS d FROM orders ORDER BY id;

-- query: date_extract_timestamp
SELECT id, extract(year FROM shipped_at)::int AS y, extract(month FROM shipped_at)::int AS m FROM orders ORDER BY id;

-- query: date_extract_timestamptz
SELECT id, extract(year FROM placed_at)::int AS y, extract(month FROM placed_at)::int AS m, extract(day FROM placed_at)::int AS d FROM orders ORDER BY id;

-- query: date_extract_hour
SELECT id, extract(hour FROM shipped_at)::int AS h FROM orders WHERE shipped_at IS NOT NULL ORDER BY id;

-- query: date_extract_filter
SELECT id, signup_date FROM customers WHERE extract(month FROM signup_date) = 6 ORDER BY id;

-- query: date_trunc_month_timestamptz
SELECT id, date_trunc('month', placed_at) AS m FROM orders ORDER BY id;

-- query: date_trunc_month_timestamp
SELECT id, date_trunc('month', shipped_at) AS m FROM orders ORDER BY id;

-- query: date_trunc_group
SELECT date_trunc('month', shipped_at) AS m, count(*) AS n FROM orders WHERE shipped_at IS NOT NULL GROUP BY date_trunc('month', shipped_at) ORDER BY m;

-- query: date_trunc_year
SELECT date_trunc('year', placed_at) AS y, count(*) AS n FROM orders GROUP BY date_trunc('year', placed_at) ORDER BY y;

-- query: timestamptz_to_date
SELECT id, placed_at::date AS d FROM orders ORDER BY id;

-- query: timestamp_to_date
SELECT id, shipped_at::date AS d FROM orders ORDER BY id;

-- query: timestamptz_date_mismatch
SELECT id, order_date, placed_at FROM orders WHERE placed_at::date <> order_date ORDER BY id;

-- query: date_compare_columns
SELECT id, order_date, shipped_at FROM orders WHERE shipped_at::date > order_date ORDER BY id;

-- query: order_by_timestamptz
SELECT id, placed_at FROM orders ORDER BY placed_at, id;

-- query: order_by_timestamptz_desc
SELECT id, placed_at FROM orders ORDER BY placed_at DESC, id DESC LIMIT 10;

-- query: order_by_timestamp_nulls
SELECT id, shipped_at FROM orders ORDER BY shipped_at NULLS FIRST, id;

-- query: order_by_last_login
SELECT id, last_login FROM customers ORDER BY last_login DESC NULLS LAST, id;

-- query: date_group_by_date
SELECT order_date, count(*) AS n FROM orders GROUP BY order_date HAVING count(*) > 1 ORDER BY order_date;

-- query: date_min_per_customer
SELECT customer_id, min(order_date) AS first_date, max(order_date) AS last_date FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY customer_id;

-- query: date_literal_cast
SELECT id FROM orders WHERE order_date = '2023-08-08'::date ORDER BY id;

-- query: timestamptz_literal_cast
SELECT id FROM orders WHERE placed_at > '2024-09-01 00:00:00+00'::timestamptz ORDER BY id;

-- query: date_extract_year_signup
SELECT extract(year FROM signup_date)::int AS y, count(*) AS n FROM customers GROUP BY 1 ORDER BY 1;

-- query: timestamp_compare_shipped_date
SELECT id FROM orders WHERE shipped_at IS NOT NULL AND shipped_at::date = order_date ORDER BY id;

-- query: cast_numeric_to_int
SELECT id, amount, amount::int AS i FROM orders ORDER BY id;

-- query: cast_numeric_to_bigint
SELECT id, price::bigint AS b FROM products ORDER BY id;

-- query: cast_int_to_text
SELECT id, stock::text AS s FROM products ORDER BY id;

-- query: cast_numeric_to_text
SELECT id, price::text AS s FROM products ORDER BY id;

-- query: cast_text_to_int
SELECT id, substr(sku, 5, 3)::int AS n FROM products ORDER BY id;

-- query: cast_to_numeric_scale
SELECT order_id, line_no, (quantity * unit_price)::numeric(10,2) AS line_total FROM order_items ORDER BY order_id, line_no;

-- query: cast_int_to_numeric
SELECT id, (stock::numeric(10,2) / 4)::numeric(10,2) AS q FROM products ORDER BY id;

-- query: cast_numeric_to_double
SELECT id, price::double precision AS d FROM products WHERE price IN (4.50, 100.00) ORDER BY id;

-- query: cast_int_to_double_division
SELECT id, stock::double precision / 4 AS q FROM products ORDER BY id;

-- query: cast_real_to_numeric
SELECT id, score::numeric(6,3) AS s FROM customers ORDER BY id;

-- query: cast_double_to_int
SELECT id, weight_kg, weight_kg::int AS w FROM products ORDER BY id;

-- query: cast_date_to_text
SELECT id, signup_date::text AS s FROM customers ORDER BY id;

-- query: cast_smallint_sum
SELECT sum(priority)::bigint AS s, sum(priority::int) AS t FROM orders;

-- query: cast_bool_to_text
SELECT id, active::text AS a FROM customers ORDER BY id;

-- query: cast_text_to_numeric
SELECT '12.345'::numeric(10,2) AS a, '-0.5'::numeric(10,2) AS b, '7'::numeric(10,2) AS c;

-- query: arith_basic
SELECT id, stock + 1 AS a, stock - 1 AS b, stock * 3 AS c FROM products ORDER BY id;

-- query: arith_integer_division
SELECT id, stock / 5 AS q, stock % 5 AS r FROM products ORDER BY id;

-- query: arith_negative_division
SELECT order_id, line_no, quantity / 2 AS q, quantity % 2 AS r FROM order_items ORDER BY order_id, line_no;

-- query: arith_literals
SELECT 7 / 2 AS a, -7 / 2 AS b, 7 % 3 AS c, -7 % 3 AS d, 7 % -3 AS e, 2 + 3 * 4 AS f, (2 + 3) * 4 AS g;

-- query: arith_numeric_mult
SELECT order_id, line_no, quantity * unit_price AS total FROM order_items ORDER BY order_id, line_no;

-- query: arith_numeric_sub
SELECT id, price - cost AS margin FROM products ORDER BY id;

-- query: arith_numeric_div_rounded
SELECT id, round(price / 3, 4) AS third FROM products ORDER BY id;

-- query: arith_abs
SELECT id, abs(amount) AS a, abs(priority - 3) AS b FROM orders ORDER BY id;

-- query: arith_abs_int_negative
SELECT order_id, line_no, abs(quantity) AS q FROM order_items ORDER BY order_id, line_no;

-- query: arith_round_numeric
SELECT id, round(amount * 11 / 10, 2) AS a, round(amount, 0) AS b FROM orders ORDER BY id;

-- query: arith_round_half
SELECT id, price, round(price, 1) AS r1, round(price) AS r0 FROM products ORDER BY id;

-- query: arith_ceil_floor_numeric
SELECT id, amount, ceil(amount) AS c, floor(amount) AS f FROM orders ORDER BY id;

-- query: arith_ceil_floor_double
SELECT id, weight_kg, ceil(weight_kg) AS c, floor(weight_kg) AS f FROM products ORDER BY id;

-- query: arith_double_ops
SELECT id, weight_kg * 2 AS d, weight_kg + 0.5 AS p, weight_kg / 2 AS h FROM products ORDER BY id;

-- query: arith_real_ops
SELECT id, score * 2 AS d, score + 1 AS p FROM customers ORDER BY id;

-- query: arith_mixed_int_numeric
SELECT id, priority * amount AS weighted FROM orders ORDER BY id;

-- query: arith_bigint_large
SELECT id, id * 1000000000 AS big FROM orders WHERE id <= 1003 ORDER BY id;

-- query: arith_unary_minus
SELECT id, -amount AS neg, -priority AS np FROM orders WHERE id <= 1005 ORDER BY id;

-- query: arith_discount_calc
SELECT id, amount, discount, round(amount * (100 - coalesce(discount, 0)) / 100, 2) AS net FROM orders ORDER BY id;

-- query: arith_modulo_filter
SELECT id FROM customers WHERE id % 3 = 0 ORDER BY id;

-- query: arith_greatest_least
SELECT id, greatest(price, 10) AS g, least(price, 10) AS l FROM products ORDER BY id;

-- query: numeric_sum_by_group
SELECT status, sum(amount) AS total, sum(discount) AS disc FROM orders GROUP BY status ORDER BY status;

-- query: numeric_avg_by_group
SELECT tier, round(avg(credit_limit), 4) AS avg_credit, sum(credit_limit) AS total FROM customers GROUP BY tier ORDER BY tier NULLS FIRST;

-- query: numeric_sum_line_totals
SELECT o.status, sum(oi.quantity * oi.unit_price) AS rev FROM orders o JOIN order_items oi ON oi.order_id = o.id GROUP BY o.status ORDER BY o.status;

-- query: numeric_sum_small_values
SELECT sum(amount) AS s FROM orders WHERE amount < 1 AND amount > 0;

-- query: numeric_precise_compare
SELECT id FROM orders WHERE amount = 0.01 ORDER BY id;

-- query: numeric_sum_cents
SELECT sum(price) AS total, sum(price) - sum(cost) AS diff FROM products WHERE cost IS NOT NULL;

-- query: numeric_avg_items
SELECT product_id, round(avg(unit_price), 4) AS p, round(avg(quantity), 4) AS q FROM order_items GROUP BY product_id ORDER BY product_id;

-- query: double_sum_by_group
SELECT category, sum(weight_kg) AS w FROM products GROUP BY category ORDER BY category NULLS LAST;

-- query: double_avg_rating_group
SELECT product_id, round(avg(rating)::numeric, 4) AS r, count(rating) AS n FROM order_items GROUP BY product_id ORDER BY product_id;

-- query: order_by_nulls_first
SELECT id, tier FROM customers ORDER BY tier NULLS FIRST, id;

-- query: order_by_nulls_last
SELECT id, tier FROM customers ORDER BY tier NULLS LAST, id;

-- query: order_by_desc_nulls_default
SELECT id, tier FROM customers ORDER BY tier DESC, id;

-- query: order_by_asc_nulls_default
SELECT id, credit_limit FROM customers ORDER BY credit_limit, id;

-- query: order_by_desc_nulls_last
SELECT id, score FROM customers ORDER BY score DESC NULLS LAST, id;

-- query: order_by_multi_mixed
SELECT id, city, credit_limit FROM customers ORDER BY city DESC NULLS LAST, credit_limit ASC NULLS FIRST, id DESC;

-- query: order_by_expression
SELECT id, price, stock FROM products ORDER BY price * stock DESC, id;

-- query: order_by_alias
SELECT id, price - coalesce(cost, 0) AS margin FROM products ORDER BY margin, id;

-- query: order_by_not_selected
SELECT name FROM products ORDER BY price, id;

-- query: order_by_case
SELECT id, status FROM orders ORDER BY CASE status WHEN 'pending' THEN 0 WHEN 'shipped' THEN 1 ELSE 2 END, id;

-- query: order_by_bool
SELECT id, active FROM customers ORDER BY active, id;

-- query: order_by_ordinal
SELECT name, price FROM products ORDER BY 2 DESC, 1;

-- query: limit_basic
SELECT id, amount FROM orders ORDER BY amount DESC, id LIMIT 5;

-- query: limit_offset
SELECT id, amount FROM orders ORDER BY amount DESC, id LIMIT 5 OFFSET 5;

-- query: limit_offset_past_end
SELECT id FROM products ORDER BY id LIMIT 10 OFFSET 20;

-- query: offset_only
SELECT id FROM products ORDER BY id OFFSET 20;

-- query: limit_zero
SELECT id FROM products ORDER BY id LIMIT 0;

-- query: limit_ties_tiebreak
SELECT id, price FROM products ORDER BY price, id LIMIT 7;

-- query: limit_in_subquery
SELECT sum(amount) AS top3 FROM (SELECT amount FROM orders ORDER BY amount DESC, id LIMIT 3) t;

-- query: distinct_single
SELECT DISTINCT status FROM orders ORDER BY status;

-- query: distinct_multi
SELECT DISTINCT city, tier FROM customers ORDER BY city NULLS FIRST, tier NULLS FIRST;

-- query: distinct_with_nulls
SELECT DISTINCT discount FROM orders ORDER BY discount NULLS FIRST;

-- query: distinct_numeric_values
SELECT DISTINCT price FROM products ORDER BY price DESC;

-- query: distinct_count_subquery
SELECT count(*) AS n FROM (SELECT DISTINCT product_id FROM order_items) t;

-- query: distinct_expression
SELECT DISTINCT extract(year FROM order_date)::int AS y FROM orders ORDER BY y;

-- query: complex_customer_report
SELECT c.id, c.name, count(DISTINCT o.id) AS orders, coalesce(sum(oi.quantity), 0) AS items, coalesce(sum(oi.quantity * oi.unit_price), 0) AS revenue FROM customers c LEFT JOIN orders o ON o.customer_id = c.id LEFT JOIN order_items oi ON oi.order_id = o.id GROUP BY c.id, c.name ORDER BY revenue DESC, c.id;

-- query: complex_category_share
WITH cat AS (SELECT coalesce(p.category, 'none') AS category, sum(oi.quantity * oi.unit_price) AS rev FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY coalesce(p.category, 'none')) SELECT category, rev, round(rev * 100 / (SELECT sum(rev) FROM cat), 2) AS pct FROM cat ORDER BY category;

-- query: complex_monthly_running
WITH m AS (SELECT date_trunc('month', shipped_at) AS month, sum(amount) AS total FROM orders WHERE shipped_at IS NOT NULL GROUP BY date_trunc('month', shipped_at)) SELECT month, total, sum(total) OVER (ORDER BY month) AS running FROM m ORDER BY month;

-- query: complex_rank_customers_by_city
SELECT city, id, credit_limit, dense_rank() OVER (PARTITION BY city ORDER BY credit_limit DESC NULLS LAST) AS r FROM customers WHERE city IS NOT NULL ORDER BY city, r, id;

-- query: complex_exists_and_not_exists
SELECT p.id, p.name FROM products p WHERE EXISTS (SELECT 1 FROM order_items oi WHERE oi.product_id = p.id AND oi.quantity > 0) AND NOT EXISTS (SELECT 1 FROM order_items oi WHERE oi.product_id = p.id AND oi.quantity < 0) ORDER BY p.id;

-- query: complex_orders_above_customer_avg
WITH a AS (SELECT customer_id, avg(amount) AS avg_amt FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id) SELECT o.id, o.customer_id, o.amount, round(a.avg_amt, 2) AS avg_amt FROM orders o JOIN a ON a.customer_id = o.customer_id WHERE o.amount > a.avg_amt ORDER BY o.id;

-- query: complex_case_aggregation
SELECT c.tier, sum(CASE WHEN o.status IN ('delivered', 'shipped', 'Shipped') THEN o.amount ELSE 0 END) AS good, sum(CASE WHEN o.status IN ('returned', 'cancelled') THEN o.amount ELSE 0 END) AS bad FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.tier ORDER BY c.tier NULLS LAST;

-- query: complex_union_then_agg
SELECT kind, count(*) AS n FROM (SELECT 'neg' AS kind FROM orders WHERE amount < 0 UNION ALL SELECT 'neg' FROM order_items WHERE quantity < 0 UNION ALL SELECT 'zero' FROM products WHERE stock = 0) t GROUP BY kind ORDER BY kind;

-- query: complex_lag_gap_per_customer
SELECT id, customer_id, order_date, lag(order_date) OVER (PARTITION BY customer_id ORDER BY order_date, id) AS prev_date FROM orders WHERE customer_id IN (1, 8, 20) ORDER BY customer_id, order_date, id;

-- query: complex_scalar_subquery_in_case
SELECT id, CASE WHEN amount > (SELECT avg(amount) FROM orders) THEN 'above' ELSE 'below' END AS pos FROM orders ORDER BY id;

-- query: complex_nested_ctes_and_union
WITH a AS (SELECT id FROM customers WHERE tier = 1), b AS (SELECT id FROM customers WHERE city = 'Paris') SELECT id, 'a' AS src FROM a UNION ALL SELECT id, 'b' FROM b UNION ALL SELECT id, 'both' FROM (SELECT id FROM a INTERSECT SELECT id FROM b) ab ORDER BY src, id;

-- query: complex_having_subquery
SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id HAVING count(*) > (SELECT count(*) FROM orders) / 25 ORDER BY customer_id NULLS FIRST;

-- query: complex_in_subquery_agg
SELECT id, name FROM products WHERE id IN (SELECT product_id FROM order_items GROUP BY product_id HAVING sum(quantity) > 5) ORDER BY id;

-- query: complex_string_group
SELECT left(lower(trim(name)), 1) AS initial, count(*) AS n FROM customers GROUP BY left(lower(trim(name)), 1) ORDER BY initial;

-- query: complex_product_sales_window
SELECT p.id, p.name, coalesce(s.q, 0) AS q, rank() OVER (ORDER BY coalesce(s.q, 0) DESC) AS r FROM products p LEFT JOIN (SELECT product_id, sum(quantity) AS q FROM order_items GROUP BY product_id) s ON s.product_id = p.id ORDER BY r, p.id;

-- query: complex_full_join_agg
SELECT coalesce(c.city, 'unknown') AS city, count(o.id) AS orders, count(c.id) AS customers FROM customers c FULL JOIN orders o ON o.customer_id = c.id GROUP BY coalesce(c.city, 'unknown') ORDER BY city;

-- query: complex_timestamptz_window
SELECT id, placed_at, first_value(placed_at) OVER (PARTITION BY extract(year FROM placed_at) ORDER BY placed_at, id) AS first_in_year FROM orders ORDER BY placed_at, id;

-- query: complex_item_share_of_order
SELECT order_id, line_no, quantity * unit_price AS line_total, round(quantity * unit_price * 100 / sum(quantity * unit_price) OVER (PARTITION BY order_id), 2) AS pct FROM order_items WHERE order_id IN (SELECT order_id FROM order_items GROUP BY order_id HAVING sum(quantity * unit_price) > 0) ORDER BY order_id, line_no;

-- query: complex_count_distinct_join
SELECT c.city, count(DISTINCT o.customer_id) AS buyers, count(DISTINCT oi.product_id) AS products FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items oi ON oi.order_id = o.id GROUP BY c.city ORDER BY c.city NULLS LAST;
