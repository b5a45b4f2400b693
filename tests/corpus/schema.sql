CREATE TABLE customers (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email varchar(60),
    city text,
    tier smallint,
    credit_limit numeric(10,2),
    score real,
    active boolean NOT NULL,
    signup_date date NOT NULL,
    last_login timestamptz
);
CREATE TABLE products (
    id integer PRIMARY KEY,
    sku varchar(12) NOT NULL,
    name text NOT NULL,
    category text,
    price numeric(10,2) NOT NULL,
    cost numeric(10,2),
    weight_kg double precision,
    stock integer NOT NULL,
    discontinued boolean,
    released date
);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id integer,
    order_date date NOT NULL,
    placed_at timestamptz NOT NULL,
    shipped_at timestamp,
    status varchar(12) NOT NULL,
    amount numeric(10,2) NOT NULL,
    discount numeric(4,2),
    priority smallint NOT NULL,
    note text
);
CREATE TABLE order_items (
    order_id bigint NOT NULL,
    line_no smallint NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL,
    unit_price numeric(10,2) NOT NULL,
    rating double precision,
    PRIMARY KEY (order_id, line_no)
);
INSERT INTO customers VALUES (1, 'Alice Smith', 'alice.1@example.org', 'Berlin', 2, -100.00, 0.0, true, '2022-06-08', '2024-02-04 05:13:00+02');
INSERT INTO customers VALUES (2, 'bob jones', 'bob.2@example.org', NULL, 3, 500.00, -0.25, true, '2023-11-15', NULL);
INSERT INTO customers VALUES (3, 'CAROL WHITE', NULL, 'New York', 1, 1234.56, 4.75, true, '2024-04-22', '2024-04-10 15:39:00+05:30');
INSERT INTO customers VALUES (4, 'Dave O''Brien', 'dave.4@example.org', 'paris', NULL, 2500.00, -0.25, false, '2021-09-01', '2024-05-13 20:52:00+00');
INSERT INTO customers VALUES (5, '  Eve Black  ', 'eve5@Example.com', 'Paris', 3, 2500.00, NULL, true, '2022-02-08', '2024-06-16 01:05:00+00');
INSERT INTO customers VALUES (6, 'frank Green', 'frank.6@example.org', 'Tokyo', 1, NULL, 3.5, true, '2023-07-15', '2024-07-19 06:18:00+02');
INSERT INTO customers VALUES (7, 'Grace Hopper', 'grace.7@example.org', 'London', 2, 1000.00, 0.0, true, '2024-12-22', NULL);
INSERT INTO customers VALUES (8, 'heidi Klum', 'heidi.8@example.org', 'Berlin', 3, 500.00, 3.5, false, '2021-05-01', '2024-09-25 16:44:00+05:30');
INSERT INTO customers VALUES (9, 'Ivan Petrov', 'ivan.9@example.org', NULL, 1, -100.00, 3.5, true, '2022-10-08', '2024-10-28 21:57:00+00');
INSERT INTO customers VALUES (10, 'Judy Garland', NULL, 'New York', 2, 1000.00, 3.5, true, '2023-03-15', '2024-11-03 02:10:00+00');
INSERT INTO customers VALUES (11, 'karl Marx', 'karl.11@example.org', 'paris', 3, 0.00, NULL, true, '2024-08-22', '2024-12-06 07:23:00+02');
INSERT INTO customers VALUES (12, 'Liam Neeson', 'liam.12@example.org', 'Paris', 1, 1000.00, 3.5, false, '2021-01-01', NULL);
INSERT INTO customers VALUES (13, 'Mallory Knox', 'mallory.13@example.org', 'Tokyo', NULL, 1000.00, 7.125, true, '2022-06-08', '2024-02-12 17:49:00+05:30');
INSERT INTO customers VALUES (14, 'Niaj Brown', 'niaj.14@example.org', 'London', 3, NULL, 0.0, true, '2023-11-15', '2024-03-15 22:02:00+00');
INSERT INTO customers VALUES (15, 'Olivia Stone', 'olivia15@Example.com', 'Berlin', 1, 250.50, 3.5, true, '2024-04-22', '2024-04-18 03:15:00+00');
INSERT INTO customers VALUES (16, 'Peggy Sue', 'peggy.16@example.org', NULL, 2, 500.00, 3.5, false, '2021-09-01', '2024-05-21 08:28:00+02');
INSERT INTO customers VALUES (17, 'Quentin Blake', NULL, 'New York', 3, 2500.00, NULL, true, '2022-02-08', NULL);
INSERT INTO customers VALUES (18, 'rupert Grint', 'rupert.18@example.org', 'paris', 1, -100.00, 4.75, true, '2023-07-15', '2024-07-27 18:54:00+05:30');
INSERT INTO customers VALUES (19, 'Sybil Fawlty', 'sybil.19@example.org', 'Paris', 2, 250.50, 10.0, true, '2024-12-22', '2024-08-02 23:07:00+00');
INSERT INTO customers VALUES (20, 'Trent Reznor', 'trent20@Example.com', 'Tokyo', 3, -100.00, 5.5, false, '2021-05-01', '2024-09-05 04:20:00+00');
INSERT INTO customers VALUES (21, 'Uma Thurman', 'uma.21@example.org', 'London', 1, 2500.00, 7.125, true, '2022-10-08', '2024-10-08 09:33:00+02');
INSERT INTO customers VALUES (22, 'Victor Hugo', 'victor.22@example.org', 'Berlin', NULL, NULL, 7.125, true, '2023-03-15', NULL);
INSERT INTO customers VALUES (23, 'Walter White', 'walter.23@example.org', NULL, 3, 1000.00, NULL, true, '2024-08-22', '2024-12-14 19:59:00+05:30');
INSERT INTO customers VALUES (24, 'Xena Warrior', NULL, 'New York', 1, -100.00, 0.0, false, '2021-01-01', '2024-01-17 00:12:00+00');
INSERT INTO customers VALUES (25, 'Yvonne Strahovski', 'yvonne25@Example.com', 'paris', 2, 1000.00, 0.0, true, '2022-06-08', '2024-02-20 05:25:00+00');
INSERT INTO customers VALUES (26, 'Zed Shaw', 'zed.26@example.org', 'Paris', 3, -100.00, -0.25, true, '2023-11-15', '2024-03-23 10:38:00+02');
INSERT INTO customers VALUES (27, 'alice smith', 'alice.27@example.org', 'Tokyo', 1, 250.50, 0.0, true, '2024-04-22', NULL);
INSERT INTO customers VALUES (28, 'Bob Jones', 'bob.28@example.org', 'London', 2, 1234.56, -0.25, false, '2021-09-01', '2024-05-01 20:04:00+05:30');
INSERT INTO customers VALUES (29, 'Ann O''Neil', 'ann.29@example.org', 'Berlin', 3, 750.25, NULL, true, '2022-02-08', '2024-06-04 01:17:00+00');
INSERT INTO customers VALUES (30, 'Mo', 'mo30@Example.com', NULL, 1, NULL, 10.0, true, '2023-07-15', '2024-07-07 06:30:00+00');
INSERT INTO products VALUES (1, 'SKU-001', 'Widget', 'Books', 59.95, 35.97, 2.0, 12, false, '2020-08-12');
INSERT INTO products VALUES (2, 'SKU-002', 'Gadget', 'Garden', 0.99, NULL, 10.75, 12, false, '2021-03-23');
INSERT INTO products VALUES (3, 'SKU-003', 'Gizmo Pro', 'Toys', 19.99, 11.99, 0.25, 5, false, '2022-10-06');
INSERT INTO products VALUES (4, 'SKU-004', 'Doohickey', 'electronics', 12.34, 7.40, NULL, 0, true, '2023-05-17');
INSERT INTO products VALUES (5, 'SKU-005', 'Thing-a-ma-jig', NULL, 4.50, 2.70, 0.125, 0, false, NULL);
INSERT INTO products VALUES (6, 'sku-006x', 'Sprocket', 'Electronics', 0.99, 0.59, 0.125, 5, false, '2019-07-11');
INSERT INTO products VALUES (7, 'SKU-007', 'Cog', 'Books', 100.00, 60.00, 0.25, 7, NULL, '2020-02-22');
INSERT INTO products VALUES (8, 'SKU-008', 'Lever', 'Garden', 19.99, 11.99, 0.125, 0, true, '2021-09-05');
INSERT INTO products VALUES (9, 'SKU-009', 'Pulley', 'Toys', 100.00, NULL, NULL, 12, false, '2022-04-16');
INSERT INTO products VALUES (10, 'SKU-010', 'Spring', 'electronics', 4.50, 2.70, 10.75, 5, false, '2023-11-27');
INSERT INTO products VALUES (11, 'SKU-011', 'Bolt', NULL, 59.95, 35.97, 10.75, 12, false, '2024-06-10');
INSERT INTO products VALUES (12, 'sku-012x', 'Nut', 'Electronics', 4.50, 2.70, 10.75, 5, true, '2019-01-21');
INSERT INTO products VALUES (13, 'SKU-013', 'Washer', 'Books', 4.50, 2.70, 1.5, 12, false, NULL);
INSERT INTO products VALUES (14, 'SKU-014', 'Hammer', 'Garden', 9.99, 5.99, NULL, 42, false, '2021-03-15');
INSERT INTO products VALUES (15, 'SKU-015', 'Wrench', 'Toys', 9.99, 5.99, 0.125, 100, false, '2022-10-26');
INSERT INTO products VALUES (16, 'SKU-016', 'Screwdriver', 'electronics', 4.50, NULL, 2.0, 7, true, '2023-05-09');
INSERT INTO products VALUES (17, 'SKU-017', 'Chef''s Knife', NULL, 9.99, 5.99, 0.25, 0, NULL, '2024-12-20');
INSERT INTO products VALUES (18, 'sku-018x', 'Garden Hose', 'Electronics', 100.00, 60.00, 3.25, 42, false, '2019-07-03');
INSERT INTO products VALUES (19, 'SKU-019', 'Rake', 'Books', 0.99, 0.59, NULL, 0, false, '2020-02-14');
INSERT INTO products VALUES (20, 'SKU-020', 'Spade', 'Garden', 7.25, 4.35, 3.25, 100, true, '2021-09-25');
INSERT INTO products VALUES (21, 'SKU-021', 'Board Game', 'Toys', 4.50, 2.70, 1.5, 5, false, NULL);
INSERT INTO products VALUES (22, 'SKU-022', 'Puzzle 1000', 'electronics', 100.00, 60.00, 2.0, -3, false, '2023-11-19');
INSERT INTO products VALUES (23, 'SKU-023', 'Novel: The End', NULL, 9.99, NULL, 1.5, 7, false, '2024-06-02');
INSERT INTO products VALUES (24, 'sku-024x', 'Cookbook', 'Electronics', 0.99, 0.59, NULL, 5, true, '2019-01-13');
INSERT INTO orders VALUES (1001, 15, '2023-08-04', '2023-08-04 05:11:07+01', '2023-08-06 08:11:00', 'shipped', 0.01, NULL, 5, NULL);
INSERT INTO orders VALUES (1002, 20, '2024-03-07', '2024-03-07 10:22:14-08', '2024-03-09 13:22:00', 'delivered', 0.01, 5.00, 5, NULL);
INSERT INTO orders VALUES (1003, 12, '2022-10-10', '2022-10-10 15:33:21+09', '2022-10-12 18:33:00', 'delivered', 13.37, 0.00, 3, NULL);
INSERT INTO orders VALUES (1004, 15, '2023-05-13', '2023-05-13 20:44:28+00', NULL, 'cancelled', 100.00, NULL, 5, 'Leave at door');
INSERT INTO orders VALUES (1005, 1, '2024-12-16', '2024-12-16 01:55:35-03:30', '2024-12-18 04:55:00', 'returned', -250.75, 2.25, 5, NULL);
INSERT INTO orders VALUES (1006, 20, '2022-07-19', '2022-07-19 06:06:42+00', '2022-07-21 09:06:00', 'Shipped', 100.00, 0.00, 3, NULL);
INSERT INTO orders VALUES (1007, 7, '2023-02-22', '2023-02-22 11:17:49+01', NULL, 'pending', 42.42, NULL, 5, NULL);
INSERT INTO orders VALUES (1008, 13, '2024-09-25', '2024-09-25 16:28:56-08', '2024-09-27 19:28:00', 'shipped', 42.42, 5.00, 2, 'call before');
INSERT INTO orders VALUES (1009, 3, '2022-04-28', '2022-04-28 21:39:03+09', '2022-04-28 00:39:00', 'delivered', 100.00, 5.00, 2, NULL);
INSERT INTO orders VALUES (1010, 20, '2023-11-03', '2023-11-03 02:50:10+00', '2023-11-05 05:50:00', 'delivered', 10.00, NULL, 5, NULL);
INSERT INTO orders VALUES (1011, 4, '2024-06-06', '2024-06-06 07:01:17-03:30', NULL, 'cancelled', 25.50, 5.00, 3, NULL);
INSERT INTO orders VALUES (1012, 25, '2022-01-09', '2022-01-09 12:12:24+00', '2022-01-11 15:12:00', 'returned', -25.50, 5.00, 3, '  fragile  ');
INSERT INTO orders VALUES (1013, NULL, '2023-08-12', '2023-08-12 17:23:31+01', '2023-08-14 20:23:00', 'Shipped', 13.37, NULL, 3, NULL);
INSERT INTO orders VALUES (1014, 27, '2024-03-15', '2024-03-15 22:34:38-08', NULL, 'pending', 13.37, 5.00, 5, NULL);
INSERT INTO orders VALUES (1015, 27, '2022-10-18', '2022-10-18 03:45:45+09', '2022-10-20 06:45:00', 'shipped', 42.42, 5.00, 2, NULL);
INSERT INTO orders VALUES (1016, 19, '2023-05-21', '2023-05-21 08:56:52+00', '2023-05-23 11:56:00', 'delivered', 25.50, NULL, 2, 'gift wrap');
INSERT INTO orders VALUES (1017, 99, '2024-12-24', '2024-12-24 13:07:59-03:30', '2024-12-26 16:07:00', 'delivered', 0.01, 2.25, 2, NULL);
INSERT INTO orders VALUES (1018, 2, '2022-07-27', '2022-07-27 18:18:06+00', NULL, 'cancelled', 250.75, 10.50, 1, NULL);
INSERT INTO orders VALUES (1019, 1, '2023-02-02', '2023-02-02 23:29:13+01', '2023-02-04 02:29:00', 'returned', -13.37, NULL, 2, NULL);
INSERT INTO orders VALUES (1020, 1, '2024-09-05', '2024-09-05 04:40:20-08', '2024-09-07 07:40:00', 'Shipped', 13.37, 10.50, 3, 'GIFT WRAP');
INSERT INTO orders VALUES (1021, 1, '2022-04-08', '2022-04-08 09:51:27+09', NULL, 'pending', 10.00, 5.00, 5, NULL);
INSERT INTO orders VALUES (1022, 6, '2023-11-11', '2023-11-11 14:02:34+00', '2023-11-13 17:02:00', 'shipped', 25.50, NULL, 2, NULL);
INSERT INTO orders VALUES (1023, 8, '2024-06-14', '2024-06-14 19:13:41-03:30', '2024-06-16 22:13:00', 'delivered', 25.50, 2.25, 1, NULL);
INSERT INTO orders VALUES (1024, 8, '2022-01-17', '2022-01-17 00:24:48+00', '2022-01-19 03:24:00', 'delivered', 13.37, 0.00, 5, 'gift wrap');
INSERT INTO orders VALUES (1025, 13, '2023-08-20', '2023-08-20 05:35:55+01', NULL, 'cancelled', 13.37, NULL, 5, NULL);
INSERT INTO orders VALUES (1026, NULL, '2024-03-23', '2024-03-23 10:46:02-08', '2024-03-25 13:46:00', 'returned', -13.37, 10.50, 3, NULL);
INSERT INTO orders VALUES (1027, 17, '2022-10-26', '2022-10-26 15:57:09+09', '2022-10-28 18:57:00', 'Shipped', 0.01, 0.00, 1, NULL);
INSERT INTO orders VALUES (1028, 23, '2023-05-01', '2023-05-01 20:08:16+00', NULL, 'pending', 25.50, NULL, 2, 'Leave at door');
INSERT INTO orders VALUES (1029, 16, '2024-12-04', '2024-12-04 01:19:23-03:30', '2024-12-06 04:19:00', 'shipped', 13.37, 5.00, 3, NULL);
INSERT INTO orders VALUES (1030, 6, '2022-07-07', '2022-07-07 06:30:30+00', '2022-07-09 09:30:00', 'delivered', 0.01, 2.25, 3, NULL);
INSERT INTO orders VALUES (1031, 5, '2023-02-10', '2023-02-10 11:41:37+01', '2023-02-12 14:41:00', 'delivered', 25.50, NULL, 1, NULL);
INSERT INTO orders VALUES (1032, 10, '2024-09-13', '2024-09-13 16:52:44-08', NULL, 'cancelled', 99.99, 2.25, 3, '  fragile  ');
INSERT INTO orders VALUES (1033, 12, '2022-04-16', '2022-04-16 21:03:51+09', '2022-04-18 00:03:00', 'returned', -25.50, 2.25, 5, NULL);
INSERT INTO orders VALUES (1034, 99, '2023-11-19', '2023-11-19 02:14:58+00', '2023-11-21 05:14:00', 'Shipped', 1000.00, NULL, 1, NULL);
INSERT INTO orders VALUES (1035, 8, '2024-06-22', '2024-06-22 07:25:05-03:30', NULL, 'pending', 250.75, 2.25, 1, NULL);
INSERT INTO orders VALUES (1036, 3, '2022-01-25', '2022-01-25 12:36:12+00', '2022-01-27 15:36:00', 'shipped', 25.50, 10.50, 1, 'It''s urgent');
INSERT INTO orders VALUES (1037, 7, '2023-08-28', '2023-08-28 17:47:19+01', '2023-08-28 20:47:00', 'delivered', 42.42, NULL, 2, NULL);
INSERT INTO orders VALUES (1038, 6, '2024-03-03', '2024-03-03 22:58:26-08', '2024-03-05 01:58:00', 'delivered', 0.01, 5.00, 5, NULL);
INSERT INTO orders VALUES (1039, NULL, '2022-10-06', '2022-10-06 03:09:33+09', NULL, 'cancelled', 99.99, 2.25, 1, NULL);
INSERT INTO orders VALUES (1040, 4, '2023-05-09', '2023-05-09 08:20:40+00', '2023-05-11 11:20:00', 'returned', -250.75, NULL, 3, 'It''s urgent');
INSERT INTO orders VALUES (1041, 10, '2024-12-12', '2024-12-12 13:31:47-03:30', '2024-12-14 16:31:00', 'Shipped', 0.01, 10.50, 5, NULL);
INSERT INTO orders VALUES (1042, 9, '2022-07-15', '2022-07-15 18:42:54+00', NULL, 'pending', 99.99, 5.00, 1, NULL);
INSERT INTO orders VALUES (1043, 25, '2023-02-18', '2023-02-18 23:53:01+01', '2023-02-20 02:53:00', 'shipped', 25.50, NULL, 3, NULL);
INSERT INTO orders VALUES (1044, 21, '2024-09-21', '2024-09-21 04:04:08-08', '2024-09-23 07:04:00', 'delivered', 25.50, 10.50, 2, 'call before');
INSERT INTO orders VALUES (1045, 18, '2022-04-24', '2022-04-24 09:15:15+09', '2022-04-26 12:15:00', 'delivered', 0.01, 2.25, 2, NULL);
INSERT INTO orders VALUES (1046, 16, '2023-11-27', '2023-11-27 14:26:22+00', NULL, 'cancelled', 1000.00, NULL, 1, NULL);
INSERT INTO orders VALUES (1047, 26, '2024-06-02', '2024-06-02 19:37:29-03:30', '2024-06-04 22:37:00', 'returned', -25.50, 5.00, 1, NULL);
INSERT INTO orders VALUES (1048, 15, '2022-01-05', '2022-01-05 00:48:36+00', '2022-01-07 03:48:00', 'Shipped', 100.00, 5.00, 1, '  fragile  ');
INSERT INTO orders VALUES (1049, 20, '2023-08-08', '2023-08-08 05:59:43+01', NULL, 'pending', 100.00, NULL, 3, NULL);
INSERT INTO orders VALUES (1050, 2, '2023-08-08', '2023-08-08 04:59:43+00', '2023-08-10 08:00:00', 'shipped', 25.50, 0.00, 1, NULL);
INSERT INTO order_items VALUES (1003, 1, 12, 3, 4.50, NULL);
INSERT INTO order_items VALUES (1004, 1, 24, 1, 0.99, 1.0);
INSERT INTO order_items VALUES (1004, 2, 2, 10, 0.99, 0.5);
INSERT INTO order_items VALUES (1006, 1, 999, 2, 3.33, 1.0);
INSERT INTO order_items VALUES (1007, 1, 1, 5, 59.95, NULL);
INSERT INTO order_items VALUES (1007, 2, 22, 1, 100.00, 4.5);
INSERT INTO order_items VALUES (1007, 3, 13, 10, 4.50, 3.0);
INSERT INTO order_items VALUES (1009, 1, 13, 3, 4.50, 0.5);
INSERT INTO order_items VALUES (1010, 1, 20, 5, 7.25, 3.0);
INSERT INTO order_items VALUES (1010, 2, 1, 2, 59.95, NULL);
INSERT INTO order_items VALUES (1013, 1, 18, 10, 100.00, 2.5);
INSERT INTO order_items VALUES (1013, 2, 12, 1, 4.50, 4.5);
INSERT INTO order_items VALUES (1015, 1, 22, 2, 100.00, NULL);
INSERT INTO order_items VALUES (1016, 1, 21, 1, 4.50, 1.0);
INSERT INTO order_items VALUES (1016, 2, 22, 3, 100.00, 3.0);
INSERT INTO order_items VALUES (1017, 1, 20, 5, 7.25, 3.0);
INSERT INTO order_items VALUES (1017, 2, 17, 2, 9.99, 2.5);
INSERT INTO order_items VALUES (1017, 3, 8, 10, 19.99, NULL);
INSERT INTO order_items VALUES (1018, 1, 22, 2, 100.00, 1.0);
INSERT INTO order_items VALUES (1019, 1, 14, -3, 9.99, NULL);
INSERT INTO order_items VALUES (1019, 2, 6, -10, 0.99, 4.5);
INSERT INTO order_items VALUES (1021, 1, 9, 1, 100.00, 4.5);
INSERT INTO order_items VALUES (1022, 1, 10, 1, 4.50, 2.5);
INSERT INTO order_items VALUES (1022, 2, 19, 3, 0.99, NULL);
INSERT INTO order_items VALUES (1024, 1, 13, 1, 4.50, 4.5);
INSERT INTO order_items VALUES (1025, 1, 999, 5, 3.33, 3.0);
INSERT INTO order_items VALUES (1025, 2, 20, 5, 7.25, 4.5);
INSERT INTO order_items VALUES (1027, 1, 19, 1, 0.99, NULL);
INSERT INTO order_items VALUES (1027, 2, 19, 10, 0.99, 1.0);
INSERT INTO order_items VALUES (1027, 3, 14, 2, 9.99, 3.0);
INSERT INTO order_items VALUES (1028, 1, 8, 5, 19.99, 4.5);
INSERT INTO order_items VALUES (1028, 2, 16, 1, 4.50, 1.0);
INSERT INTO order_items VALUES (1030, 1, 4, 5, 12.34, 3.0);
INSERT INTO order_items VALUES (1031, 1, 2, 1, 0.99, NULL);
INSERT INTO order_items VALUES (1031, 2, 21, 5, 4.50, 2.5);
INSERT INTO order_items VALUES (1033, 1, 18, -2, 100.00, 3.0);
INSERT INTO order_items VALUES (1036, 1, 3, 1, 19.99, 3.0);
INSERT INTO order_items VALUES (1037, 1, 21, 5, 4.50, 1.0);
INSERT INTO order_items VALUES (1037, 2, 6, 3, 0.99, 4.5);
INSERT INTO order_items VALUES (1037, 3, 7, 2, 100.00, NULL);
INSERT INTO order_items VALUES (1039, 1, 19, 5, 0.99, NULL);
INSERT INTO order_items VALUES (1040, 1, 14, -1, 9.99, 4.5);
INSERT INTO order_items VALUES (1040, 2, 1, -1, 59.95, 3.0);
INSERT INTO order_items VALUES (1042, 1, 5, 1, 4.50, 4.5);
INSERT INTO order_items VALUES (1043, 1, 23, 2, 9.99, NULL);
INSERT INTO order_items VALUES (1043, 2, 999, 1, 3.33, 3.0);
INSERT INTO order_items VALUES (1046, 1, 13, 1, 4.50, 4.5);
INSERT INTO order_items VALUES (1046, 2, 2, 3, 0.99, NULL);
INSERT INTO order_items VALUES (1047, 1, 12, -2, 4.50, NULL);
INSERT INTO order_items VALUES (1047, 2, 16, -3, 4.50, 4.5);
INSERT INTO order_items VALUES (1047, 3, 10, -3, 4.50, 2.5);
INSERT INTO order_items VALUES (1048, 1, 11, 3, 59.95, 1.0);
INSERT INTO order_items VALUES (1049, 1, 20, 3, 7.25, 5.0);
INSERT INTO order_items VALUES (1049, 2, 9, 10, 100.00, 0.5);
