package reconcile

import (
	"crypto/md5"
	"encoding/hex"
	"strings"

	"github.com/cutover/cutover/internal/secret"
)

// Severity says whether a finding fails the verification.
type Severity string

const (
	// Failure is something that must hold and does not: Verify's result is
	// not OK.
	Failure Severity = "failure"
	// Info is reported but fails nothing (e.g. a wallet that disagrees with
	// its ledger in the legacy data already).
	Info Severity = "info"
)

// Checks, the families of findings.
const (
	CheckRun          = "run"          // the last run's status
	CheckSchema       = "schema"       // the target's catalog is the migrations'
	CheckSeeds        = "seeds"        // the seeded rows are 0013_seeds.sql's
	CheckConservation = "conservation" // legacy keys accounted exactly once
	CheckSummary      = "summary"      // the run's recorded results vs the data
	CheckTargetRows   = "target_rows"  // target rows explained by the ledger or seeds
	CheckContent      = "content"      // shared columns equal
	CheckKeptRows     = "kept_rows"    // archived and rejected rows equal to their legacy rows
	CheckForeignKey   = "foreign_key"  // no orphans
	CheckTenancy      = "tenancy"      // child user = parent owner
	CheckNaturalKey   = "natural_key"  // unique natural keys
	CheckFeedOrder    = "feed_order"   // sort_order per user by (created_at, id)
	CheckWallet       = "wallet"       // wallet coins vs ledger sum (information)
	CheckRerun        = "rerun"        // dry runs: what a plain re-run would leave (information)
	CheckSource       = "source"       // what the source server is (dry runs, information), and whether it changed since the run (verify)
	CheckConstraints  = "constraints"  // dry runs: the target's checks and NOT NULLs over the rows a run would load
)

// Kinds of findings.
const (
	KindRunNotDone      = "run_not_done"       // the last run did not finish
	KindOtherSource     = "other_source"       // the source is of another flavor than the last run loaded
	KindUnaccounted     = "unaccounted"        // a source key with no disposition in the data
	KindNotInSource     = "not_in_source"      // data in the target for a key the source does not have
	KindCountedTwice    = "counted_twice"      // a source key with more than one disposition in the data
	KindMergedElsewhere = "merged_elsewhere"   // a merged source row pointing at a target row that does not share what its rule merges on
	KindSummaryMismatch = "summary_mismatch"   // cutover.results disagrees with the data
	KindLedgerMismatch  = "ledger_mismatch"    // the ledger's kept keys disagree with the data
	KindNotFinished     = "not_finished"       // a mapping without results
	KindUnexplainedRow  = "unexplained_row"    // a target row no legacy row or seed explains
	KindMissingSeed     = "missing_seed"       // a row 0013_seeds.sql inserts is not in the target
	KindMissingRow      = "missing_row"        // a compared source row absent from the target
	KindExtraRow        = "extra_row"          // a target row absent from the source
	KindChangedRow      = "changed_row"        // a row whose shared columns differ
	KindTooManyDiffs    = "too_many_diffs"     // narrowing stopped: more differences than listed
	KindOrphan          = "orphan"             // a foreign key pointing at no row
	KindTenantMismatch  = "tenant_mismatch"    // a child row of another user's parent
	KindDuplicateKey    = "duplicate_key"      // a natural key held by more than one row
	KindFeedOrder       = "feed_order"         // sort_order not by (created_at, id)
	KindWalletMismatch  = "wallet_ledger_diff" // wallet coins differ from the ledger sum
	KindLeftAlone       = "left_alone"         // target rows changed after the cutover, which only run --full writes back
	KindHotStandby      = "hot_standby"        // the source is a hot standby: a run reads what it has replayed
	KindOtherDatabase   = "other_database"     // the source is not the database the last run read (information)
	KindSealed          = "sealed"             // dry run: the target went live (cutover seal), and a run refuses it
	KindRefusedRows     = "refused_rows"       // rows a run would load that a target constraint refuses: the run would stop
	KindTooManyRejects  = "too_many_rejects"   // dry runs: more rows would be rejected than the run's --max-rejects, and it would stop before it writes to the application tables
	KindSchemaMissing   = "schema_missing"     // a column, constraint or index the migrations make is not in the target
	KindSchemaChanged   = "schema_changed"     // one the target defines otherwise (a narrowed type, a dropped NOT NULL)
	KindSchemaExtra     = "schema_extra"       // one the target has beyond the migrations (information)
	KindSeedChanged     = "seed_changed"       // a seeded row (or the content kept of one merged onto) not as 0013_seeds.sql writes it
	KindSourceChanged   = "source_changed"     // verify: the source changed since the last run read it
)

// Finding is one thing Verify found. Key is the legacy key (or the target
// key where no legacy key exists), redacted when it holds a secret.
type Finding struct {
	Severity Severity
	Check    string
	Kind     string
	Table    string // legacy table for conservation, target table otherwise
	Key      string
	// Columns names the columns that differ (changed rows).
	Columns []string
	Message string
}

// SecretColumn reports whether a column holds a secret that no report may
// show (secret.Column): sessions.token, accounts.access_token,
// refresh_token, id_token, session_state,
// authenticators.credential_public_key, and anything named like a
// password, token, key, secret or authorization.
func SecretColumn(column string) bool { return secret.Column(column) }

// Redacted replaces a secret value.
const Redacted = secret.Redacted

// redactKey hides a legacy key that contains a secret (verification_tokens
// are keyed by their token): it keeps an md5 prefix, enough to find the row
// with `WHERE md5(legacy_key) LIKE '…%'`.
func redactKey(keyCols []string, key string) string {
	for _, c := range keyCols {
		if SecretColumn(c) {
			sum := md5.Sum([]byte(key))
			return "[redacted key md5:" + hex.EncodeToString(sum[:])[:12] + "]"
		}
	}
	return key
}

// shorten trims a value for a message.
func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
