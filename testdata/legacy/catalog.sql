-- Renders the base tables of schema public as text lines, for golden comparison
-- (testdata/legacy/*.catalog.golden). One column, "line"; rows come out ordered by
-- table, then kind, then column position (so column order is part of the output),
-- then line; text is compared with COLLATE "C" so the order does not depend on the
-- database's collation.
--
--   <table>.<column> <format_type> NOT NULL|NULL[ default=<pg_get_expr>]   (attnum order)
--   <table> PK <name> (<cols>)
--   <table> UNIQUE <name> (<cols>)                        unique constraints
--   <table> UNIQUE INDEX <pg_get_indexdef>                unique indexes backing no constraint
--   <table> FK <name> (<cols>) -> <reftable>(<cols>) ON DELETE <action>[ ON UPDATE <action>]
--           [ MATCH FULL|PARTIAL][ DEFERRABLE[ INITIALLY DEFERRED]][ NOT VALID]
--   <table> CHECK <name> <pg_get_constraintdef>
--   <table> CONSTRAINT <name> <pg_get_constraintdef>      any other constraint kind
--
-- Non-unique indexes, views, functions, triggers, comments and rows are not rendered.
WITH tbl AS (
    SELECT c.oid, c.relname
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
      AND c.relkind IN ('r', 'p')
), con AS (
    SELECT t.relname, k.oid, k.conname, k.contype, k.confdeltype, k.confupdtype, k.confmatchtype,
           k.condeferrable, k.condeferred, k.convalidated, k.conindid,
           (SELECT string_agg(a.attname, ', ' ORDER BY u.ord)
              FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS cols,
           (SELECT string_agg(a.attname, ', ' ORDER BY u.ord)
              FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) AS refcols,
           (SELECT CASE WHEN r.relnamespace = 'public'::regnamespace THEN r.relname
                        ELSE r.relnamespace::regnamespace::text || '.' || r.relname END
              FROM pg_class r WHERE r.oid = k.confrelid) AS reftable
    FROM tbl t
    JOIN pg_constraint k ON k.conrelid = t.oid
), lines AS (
    -- columns
    SELECT t.relname AS tbl, 1 AS kind, a.attnum AS pos,
           t.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
           || coalesce(' default=' || pg_get_expr(d.adbin, d.adrelid), '') AS line
    FROM tbl t
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    UNION ALL
    -- constraints
    SELECT c.relname,
           CASE c.contype WHEN 'p' THEN 2 WHEN 'u' THEN 3 WHEN 'f' THEN 5 WHEN 'c' THEN 6 ELSE 7 END,
           0,
           CASE c.contype
             WHEN 'p' THEN c.relname || ' PK ' || c.conname || ' '
                           || regexp_replace(pg_get_constraintdef(c.oid), '^PRIMARY KEY ', '')
             WHEN 'u' THEN c.relname || ' UNIQUE ' || c.conname || ' '
                           || regexp_replace(pg_get_constraintdef(c.oid), '^UNIQUE ', '')
             WHEN 'f' THEN c.relname || ' FK ' || c.conname || ' (' || c.cols || ') -> '
                           || c.reftable || '(' || c.refcols || ') ON DELETE '
                           || CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
                                WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END
                           || CASE c.confupdtype WHEN 'a' THEN '' WHEN 'r' THEN ' ON UPDATE RESTRICT'
                                WHEN 'c' THEN ' ON UPDATE CASCADE' WHEN 'n' THEN ' ON UPDATE SET NULL'
                                WHEN 'd' THEN ' ON UPDATE SET DEFAULT' END
                           || CASE c.confmatchtype WHEN 'f' THEN ' MATCH FULL' WHEN 'p' THEN ' MATCH PARTIAL' ELSE '' END
                           || CASE WHEN c.condeferrable THEN ' DEFERRABLE' ELSE '' END
                           || CASE WHEN c.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END
                           || CASE WHEN c.convalidated THEN '' ELSE ' NOT VALID' END
             WHEN 'c' THEN c.relname || ' CHECK ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
             ELSE c.relname || ' CONSTRAINT ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
           END
    FROM con c
    UNION ALL
    -- unique indexes that back no constraint
    SELECT t.relname, 4, 0, t.relname || ' UNIQUE INDEX ' || pg_get_indexdef(i.indexrelid)
    FROM tbl t
    JOIN pg_index i ON i.indrelid = t.oid AND i.indisunique
    WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k
                      WHERE k.conindid = i.indexrelid AND k.conrelid = t.oid AND k.contype IN ('p', 'u', 'x'))
)
SELECT line
FROM lines
ORDER BY tbl COLLATE "C", kind, pos, line COLLATE "C";
