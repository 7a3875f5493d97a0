// Package load runs the cutover: it stages the legacy tables in the target
// (extract), resolves every mapping with set-based SQL in dependency order,
// and records everything it did in the bookkeeping schema `cutover`: runs,
// per-mapping results (the conservation law), rejects, archive, discards,
// the id map and column losses. Each mapping's rows and its record commit
// in one transaction, so a re-run skips what is done and redoes the rest.
package load

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

const bk = migrations.BookkeepingSchema

// bookkeepingDDL creates the cutover's own tables. It is idempotent.
var bookkeepingDDL = `
CREATE SCHEMA IF NOT EXISTS ` + bk + `;
CREATE TABLE IF NOT EXISTS ` + bk + `.runs (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	finished_at timestamptz,
	status      text NOT NULL DEFAULT 'running' CONSTRAINT runs_status_check
		CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
	flavor      text NOT NULL,
	source      text NOT NULL,          -- server and database, never a password
	host        text NOT NULL,          -- where the run's process ran
	pid         integer NOT NULL,
	no_sessions boolean NOT NULL DEFAULT false,
	error       text,
	failed_table text,                  -- the legacy table a failed run stopped in
	failed_batch integer                -- and its batch (NULL: the whole table)
);
-- interrupted: a run cancelled by Ctrl-C, SIGTERM or a closed terminal
-- (migrations.CancelledRun), or whose process ended first, closed by the
-- next run (migrations.EndedRun); earlier builds recorded both as failed.
-- Their runs table gains the value here, once: afterwards the check
-- already has it, and no lock is taken.
DO $status$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = '` + bk + `.runs'::regclass
			AND conname = 'runs_status_check' AND pg_get_constraintdef(oid) LIKE '%''interrupted''%') THEN
		ALTER TABLE ` + bk + `.runs DROP CONSTRAINT IF EXISTS runs_status_check,
			ADD CONSTRAINT runs_status_check CHECK (status IN ('running', 'done', 'failed', 'interrupted'));
	END IF;
END $status$;
-- source_id: the source database's identity that outlives restarts
-- (dburl.DatabaseID); NULL when the run's role could not read it. A run
-- says when it reads another database than the last run that knew its own.
ALTER TABLE ` + bk + `.runs ADD COLUMN IF NOT EXISTS source_id text;
-- the target database's size before, at the peak of and after each run
-- (load.Space): the room a run took on the target's disk
ALTER TABLE ` + bk + `.runs ADD COLUMN IF NOT EXISTS size_before bigint,
	ADD COLUMN IF NOT EXISTS size_peak bigint, ADD COLUMN IF NOT EXISTS size_after bigint;
-- failure: what stopped a failed run, for status to tell it without
-- reading its error's words: 'too_many_rejects' (--max-rejects); NULL for
-- any other failure
ALTER TABLE ` + bk + `.runs ADD COLUMN IF NOT EXISTS failure text;
-- results: one row per mapping that finished; the conservation law per
-- legacy table is the sum of its mappings' rows.
CREATE TABLE IF NOT EXISTS ` + bk + `.results (
	mapping      text PRIMARY KEY,
	legacy_table text NOT NULL,
	target_table text,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	source_rows  bigint NOT NULL,
	loaded       bigint NOT NULL DEFAULT 0,
	merged       bigint NOT NULL DEFAULT 0,
	folded       bigint NOT NULL DEFAULT 0,
	archived     bigint NOT NULL DEFAULT 0,
	discarded    bigint NOT NULL DEFAULT 0,
	rejected     bigint NOT NULL DEFAULT 0,
	finished_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- inputs: the digest of what the mapping's decisions read when it was
-- applied (see inputs.go); a re-run leaves a mapping whose digest is
-- unchanged. NULL: to be redone.
ALTER TABLE ` + bk + `.results ADD COLUMN IF NOT EXISTS inputs text;
-- judged_at: the time the mapping's apply judged time against (sessions
-- expire against it: Params.RunStarted). A later run that decides the
-- mapping again only for what reads it, without redoing it, judges it at
-- this time too, so that what reads it sees it as the target holds it.
-- NULL: recorded by an earlier build.
ALTER TABLE ` + bk + `.results ADD COLUMN IF NOT EXISTS judged_at text;
-- reasons: each mapping's rows by disposition and reason, for the
-- dispositions that have reasons (merged, archived, discarded, rejected);
-- written with the mapping's results, so that a summary reads them here
-- instead of scanning the ledger and the kept rows.
CREATE TABLE IF NOT EXISTS ` + bk + `.reasons (
	mapping      text NOT NULL REFERENCES ` + bk + `.results(mapping) ON DELETE CASCADE,
	disposition  text NOT NULL,
	reason       text NOT NULL,
	rows         bigint NOT NULL,
	PRIMARY KEY (mapping, disposition, reason)
);
-- batches: the source the target holds, per range of pages of each table (row
-- count and an order-independent hash of the rows). A run forgets them all
-- before it changes the target, and records each table's batches in the
-- transaction that writes the table.
CREATE TABLE IF NOT EXISTS ` + bk + `.batches (
	legacy_table text NOT NULL,
	batch        integer NOT NULL,
	batches      integer NOT NULL,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	rows         bigint NOT NULL,
	checksum     text NOT NULL,
	finished_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (legacy_table, batch)
);
-- fingerprint: of the row versions the checksum read (extract.Checksum);
-- while a batch's fingerprint is unchanged, its recorded checksum stands.
ALTER TABLE ` + bk + `.batches ADD COLUMN IF NOT EXISTS fingerprint text;
-- Legacy keys and table names compare byte-wise (COLLATE "C"): the ledger
-- and its kin are keyed by them, and building or probing those keys under a
-- linguistic collation costs several times more, for no order anyone reads.
CREATE TABLE IF NOT EXISTS ` + bk + `.rejects (
	legacy_table text COLLATE "C" NOT NULL,
	legacy_key   text COLLATE "C" NOT NULL,
	reason       text NOT NULL,
	message      text NOT NULL,
	row          jsonb NOT NULL,
	run_id       bigint NOT NULL, -- not a foreign key: see below
	PRIMARY KEY (legacy_table, legacy_key)
);
CREATE TABLE IF NOT EXISTS ` + bk + `.archive (
	legacy_table text COLLATE "C" NOT NULL,
	legacy_key   text COLLATE "C" NOT NULL,
	reason       text NOT NULL,
	row          jsonb NOT NULL,
	run_id       bigint NOT NULL,
	PRIMARY KEY (legacy_table, legacy_key)
);
CREATE TABLE IF NOT EXISTS ` + bk + `.discards (
	legacy_table text COLLATE "C" NOT NULL,
	legacy_key   text COLLATE "C" NOT NULL,
	reason       text NOT NULL,
	run_id       bigint NOT NULL,
	PRIMARY KEY (legacy_table, legacy_key)
);
-- The kept rows' run_id is the run that wrote them, which a run inserts
-- before it writes anything and never deletes. A foreign key to runs
-- checked that row by row: 1.6 of 2.8 s for the 337k archived rows at 10M.
-- Bookkeeping made with those keys loses them here (once: the loop finds
-- nothing to drop afterwards, and takes no lock then).
DO $kept$ DECLARE fk record; BEGIN
	FOR fk IN SELECT conrelid::regclass AS rel, conname FROM pg_constraint
		WHERE contype = 'f' AND confrelid = '` + bk + `.runs'::regclass
		AND conrelid IN ('` + bk + `.rejects'::regclass, '` + bk + `.archive'::regclass, '` + bk + `.discards'::regclass)
	LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.rel, fk.conname);
	END LOOP;
END $kept$;
-- dispositions: the fate of every legacy row (the conservation law, row by
-- row), with the target row it reached. Rows with disposition loaded or
-- folded are the application rows the cutover owns. One partition per
-- legacy table (dispositions_<table>), which a table's first apply fills
-- bare and indexes once (see ledgerBulk).
CREATE TABLE IF NOT EXISTS ` + bk + `.dispositions (
	legacy_table text COLLATE "C" NOT NULL,
	legacy_key   text COLLATE "C" NOT NULL,
	mapping      text NOT NULL,
	disposition  text NOT NULL CHECK (disposition IN ('loaded', 'merged', 'folded', 'archived', 'discarded', 'rejected')),
	reason       text,
	target_table text COLLATE "C",
	target_id    uuid,
	-- target_key: for a target table without an id (user_roles), the
	-- primary key of the row written, its columns' text joined by commas
	-- as legacy_key is; the rows the cutover owns there go by it (NULL in
	-- rows of a build before it, whose ownership is re-derived)
	target_key   text COLLATE "C",
	-- not a foreign key: attaching a partition with one drops its triggers
	-- on runs, which locks runs against the runs' other writers (deadlocks)
	run_id       bigint NOT NULL,
	-- key first: within a partition the table name is one value, and an
	-- index build sorts about twice as fast on a leading column that varies
	PRIMARY KEY (legacy_key, legacy_table)
) PARTITION BY LIST (legacy_table);
-- (a ledger of an earlier build gains target_key; checked first, as ADD
-- COLUMN IF NOT EXISTS locks the ledger against its readers even when the
-- column is there)
DO $target_key$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = '` + bk + `.dispositions'::regclass
			AND attname = 'target_key' AND NOT attisdropped) THEN
		ALTER TABLE ` + bk + `.dispositions ADD COLUMN target_key text COLLATE "C";
	END IF;
END $target_key$;
-- by target row: only the partitions whose claims decide looks up row by
-- row have an index on target_id (claimLookupIndexes). Every other reader
-- of target ids reads a whole target table's claims, naming the legacy
-- tables feeding it (which prunes the partitions), and hash-joins them;
-- building that index on every partition was a fifth of the ledger's cost
-- at 10M, and verify ran as fast without it. A partitioned ledger made
-- with an index over all partitions loses it here, and the older
-- unpartitioned ledger, where one index serves every lookup, keeps one
-- (in place of the oldest, by (target_table, target_id)).
DROP INDEX IF EXISTS ` + bk + `.dispositions_target;
DO $ledger$ BEGIN
	IF (SELECT relkind FROM pg_class WHERE oid = '` + bk + `.dispositions'::regclass) = 'p' THEN
		DROP INDEX IF EXISTS ` + bk + `.dispositions_target_id;
	ELSE
		CREATE INDEX IF NOT EXISTS dispositions_target_id ON ` + bk + `.dispositions (target_id);
	END IF;
END $ledger$;
-- id_map: every re-keying (legacy table, legacy key -> target table, id).
CREATE OR REPLACE VIEW ` + bk + `.id_map AS
	SELECT legacy_table, legacy_key, target_table, target_id, disposition, reason
	FROM ` + bk + `.dispositions
	WHERE target_id IS NOT NULL AND (disposition IN ('merged', 'folded') OR target_id::text <> legacy_key);
-- target_rows: each application table's rows, counted by the last run
-- that wrote anything; a run with nothing to do shows these instead of
-- counting every table again.
CREATE TABLE IF NOT EXISTS ` + bk + `.target_rows (
	target_table text PRIMARY KEY,
	rows         bigint NOT NULL,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	counted_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- seeds_replaced: a seeded row's content before a mapping first merged a
-- legacy row onto it (catalog collisions), kept while the mapping merges
-- onto it; when its decisions no longer do (the legacy row deleted, or its
-- key changed), the row gets this content back, as a fresh run leaves it.
CREATE TABLE IF NOT EXISTS ` + bk + `.seeds_replaced (
	target_table text NOT NULL,
	target_id    uuid NOT NULL,
	mapping      text NOT NULL,
	row          jsonb NOT NULL,
	PRIMARY KEY (target_table, target_id)
);
CREATE TABLE IF NOT EXISTS ` + bk + `.column_loss (
	mapping  text NOT NULL,
	col      text NOT NULL,
	non_null bigint NOT NULL,
	PRIMARY KEY (mapping, col)
);
`

func ensureBookkeeping(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, bookkeepingDDL); err != nil {
		return fmt.Errorf("create bookkeeping schema %s: %w", bk, err)
	}
	// Partitions made before only some had a target_id index lost theirs
	// with the ledger's; the ones decide looks up get it back.
	for _, legacy := range claimLookups {
		exists, err := relationExists(ctx, conn, ledgerPartition(legacy))
		if err != nil {
			return fmt.Errorf("ledger partition of %s: %w", legacy, err)
		}
		if !exists {
			continue
		}
		if _, err := conn.Exec(ctx, claimLookupIndex(legacy)); err != nil {
			return fmt.Errorf("index the ledger partition of %s by target row: %w", legacy, err)
		}
	}
	return nil
}

// claimLookups are the legacy tables whose ledger partitions decide looks
// up by target id row by row (mappings.ClaimLookups).
var claimLookups = mappings.ClaimLookups(mappings.All())

// claimLookupIndex is the DDL of the target_id index of legacy's ledger
// partition.
func claimLookupIndex(legacy string) string {
	return `CREATE INDEX IF NOT EXISTS ` + ident("dispositions_"+legacy+"_target_id") + ` ON ` + ledgerPartition(legacy) + ` (target_id)`
}

// ledgerPartition names the ledger partition of a legacy table.
func ledgerPartition(legacy string) string { return ident(bk, "dispositions_"+legacy) }

// relationExists reports whether the relation named rel (qualified and
// quoted, as ident gives it) exists on q's database. The bookkeeping's
// readers ask it first, so that a target no run has written to logs no
// error for a missing table.
func relationExists(ctx context.Context, q migrations.Queryer, rel string) (bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, rel).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up %s: %w", rel, err)
	}
	return exists, nil
}

// ledgerBulk prepares the first write of a legacy table's dispositions:
// when the ledger is partitioned and the table has no partition yet, it
// creates one, unattached and without indexes, and returns it; the caller
// fills it and then runs attach, which builds its indexes from the data
// (one sort each) and only then attaches it, so that the ledger lock
// attaching takes (held to commit, and taken by every other first write)
// is held for moments. Until attach, no reader sees the rows. The primary
// key repeats the ledger's, which attach requires to adopt it; the
// partitions of claimLookups also get their target_id index (the
// end-to-end test counts the indexes of every partition). Attach also
// analyzes the partition (a sample of workStatistics; its SET LOCAL lasts
// to the end of the caller's transaction, which analyzes nothing else):
// the next run's removals join it with the decisions, and without
// statistics the planner takes its rows for one and picks a nested loop
// over both tables (42 s instead of 0.13 s for audit_log's 27,641
// ledger rows at 1M, on a re-run). It returns ""
// when the rows go into the ledger as usual (an existing partition, or a
// ledger made before partitioning).
func ledgerBulk(ctx context.Context, tx pgx.Tx, legacy string) (partition string, attach []string, err error) {
	part := ledgerPartition(legacy)
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT (SELECT relkind = 'p' FROM pg_class WHERE oid = $1::regclass) AND to_regclass($2) IS NULL`,
		bk+".dispositions", part).Scan(&ok); err != nil || !ok {
		return "", nil, err
	}
	// The CHECK constraint lets attach skip scanning the rows for it.
	if _, err := tx.Exec(ctx, `CREATE TABLE `+part+` (LIKE `+bk+`.dispositions INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
		CHECK (legacy_table = `+lit(legacy)+`))`); err != nil {
		return "", nil, err
	}
	// The same primary key as the ledger's: attach adopts it.
	attach = []string{sampledAnalyze(part, nil), `ALTER TABLE ` + part + ` ADD PRIMARY KEY (legacy_key, legacy_table)`}
	if slices.Contains(claimLookups, legacy) {
		attach = append(attach, claimLookupIndex(legacy))
	}
	return part, append(attach, `ALTER TABLE `+bk+`.dispositions ATTACH PARTITION `+part+` FOR VALUES IN (`+lit(legacy)+`)`), nil
}
