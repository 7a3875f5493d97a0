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

	"github.com/jackc/pgx/v5"

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
	status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
	flavor      text NOT NULL,
	source      text NOT NULL,          -- server and database, never a password
	host        text NOT NULL,          -- where the run's process ran
	pid         integer NOT NULL,
	no_sessions boolean NOT NULL DEFAULT false,
	error       text,
	failed_table text,                  -- the legacy table a failed run stopped in
	failed_batch integer                -- and its batch (NULL: the whole table)
);
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
-- batches: the source the target holds, per key range of each table (row
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
CREATE TABLE IF NOT EXISTS ` + bk + `.rejects (
	legacy_table text NOT NULL,
	legacy_key   text NOT NULL,
	reason       text NOT NULL,
	message      text NOT NULL,
	row          jsonb NOT NULL,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	PRIMARY KEY (legacy_table, legacy_key)
);
CREATE TABLE IF NOT EXISTS ` + bk + `.archive (
	legacy_table text NOT NULL,
	legacy_key   text NOT NULL,
	reason       text NOT NULL,
	row          jsonb NOT NULL,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	PRIMARY KEY (legacy_table, legacy_key)
);
CREATE TABLE IF NOT EXISTS ` + bk + `.discards (
	legacy_table text NOT NULL,
	legacy_key   text NOT NULL,
	reason       text NOT NULL,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	PRIMARY KEY (legacy_table, legacy_key)
);
-- dispositions: the fate of every legacy row (the conservation law, row by
-- row), with the target row it reached. Rows with disposition loaded or
-- folded are the application rows the cutover owns.
CREATE TABLE IF NOT EXISTS ` + bk + `.dispositions (
	legacy_table text NOT NULL,
	legacy_key   text NOT NULL,
	mapping      text NOT NULL,
	disposition  text NOT NULL CHECK (disposition IN ('loaded', 'merged', 'folded', 'archived', 'discarded', 'rejected')),
	reason       text,
	target_table text,
	target_id    uuid,
	run_id       bigint NOT NULL REFERENCES ` + bk + `.runs(id),
	PRIMARY KEY (legacy_table, legacy_key)
);
-- id_map: every re-keying (legacy table, legacy key -> target table, id).
CREATE OR REPLACE VIEW ` + bk + `.id_map AS
	SELECT legacy_table, legacy_key, target_table, target_id, disposition, reason
	FROM ` + bk + `.dispositions
	WHERE target_id IS NOT NULL AND (disposition IN ('merged', 'folded') OR target_id::text <> legacy_key);
CREATE TABLE IF NOT EXISTS ` + bk + `.column_loss (
	mapping  text NOT NULL,
	col      text NOT NULL,
	non_null bigint NOT NULL,
	PRIMARY KEY (mapping, col)
);
`

// ledgerIndexDDL builds the ledger's index by target row. The first run
// drops it while it fills the empty ledger and builds it once at the end
// (see apply); a run that ended before that builds it here, holding the run
// lock, so that it never waits on another run's writes.
const ledgerIndexDDL = `CREATE INDEX IF NOT EXISTS dispositions_target ON ` + bk + `.dispositions (target_table, target_id)`

func ensureBookkeeping(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, bookkeepingDDL); err != nil {
		return fmt.Errorf("create bookkeeping schema %s: %w", bk, err)
	}
	return nil
}
