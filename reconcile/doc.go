// Package reconcile proves a finished cutover from the two databases
// themselves: it reads the legacy source and the target, never the run's own
// summary, and reports what holds and what does not (MAPPING.md,
// "Reconciliation").
//
// Verify runs these checks, in parallel, each on one consistent snapshot of
// each database:
//
//   - Conservation, per legacy table: every source key is accounted for
//     exactly once by the data in the target — a target row (loaded, folded,
//     or the row a merged key points at), a row of cutover.archive,
//     cutover.discards or cutover.rejects. The dispositions ledger only says
//     which disposition a key was given; the evidence is the data. The
//     comparison is a key-set checksum in buckets of the key's hash,
//     narrowed down to the keys that differ.
//   - Target rows, per target table: every row is explained by the ledger or
//     is a seed row (0013_seeds.sql); no row the ledger promises is missing.
//   - Content, per mapping whose rows reach the target: a checksum of the
//     columns both sides share (renamed and SQL-computed columns included,
//     references mapped back to legacy ids through the ledger), computed on
//     each server in buckets of the key's hash and narrowed down data-diff
//     style to the missing, extra and changed rows, with the columns that
//     differ. What the run derives in Go, verify derives again from the
//     source with the same transform: the v21 market item keys
//     (marketKeyDiffs) and the typed text quests, compared row by row
//     (questContent).
//   - Kept rows, per legacy table with archived or rejected rows: each row
//     cutover.archive or cutover.rejects keeps is the legacy row's JSON
//     (kept verbatim: rowjson.SQL), compared as the hash of its text,
//     bucketed and narrowed as the content is (KeptCheck).
//   - Invariants: foreign keys (no orphans), tenancy (a child row's user is
//     its parent's owner), natural keys unique, feed order; and the wallet
//     versus ledger comparison (fine print 9), reported as information.
//
// Findings are typed (Finding, with a Check and a Kind), carry the table and
// the legacy key, and never a secret value (see SecretColumn). Result.OK is
// true only when no finding is a failure.
//
// Memory is bounded by the number of differing keys (capped) and by the keys
// the ledger does not compare (rejected, archived, discarded rows), never by
// the size of a table: every checksum is an aggregate computed by the server.
package reconcile
