package mappings

// Disposition is where a legacy row ended (MAPPING.md, the conservation law).
type Disposition string

// The six dispositions of MAPPING.md.
const (
	Loaded    Disposition = "loaded"
	Merged    Disposition = "merged"
	Folded    Disposition = "folded"
	Archived  Disposition = "archived"
	Discarded Disposition = "discarded"
	Rejected  Disposition = "rejected"
)

// Dispositions lists the dispositions in the order of the conservation law.
var Dispositions = []Disposition{Loaded, Merged, Folded, Archived, Discarded, Rejected}

// Reason codes recorded with rejected, discarded and archived rows.
const (
	ReasonDuplicateEmail      = "duplicate_email"       // rejected: a user whose email equals an older user's ignoring case
	ReasonParentRejected      = "parent_rejected"       // rejected: its owner or NOT NULL parent did not reach the target
	ReasonOrphan              = "orphan"                // rejected: its owner or parent never existed
	ReasonTenantMismatch      = "tenant_mismatch"       // rejected: its user differs from its parent's owner, or from the user of the row it would merge onto (Mapping.DedupeBy, a quest's id)
	ReasonInvalidValue        = "invalid_value"         // rejected: a drift value outside the forms DRIFT.md allows, or a value the target's checks refuse and the legacy shape allowed (message names column and value)
	ReasonPrivateSeededKey    = "private_seeded_key"    // rejected: a private catalog row (is_global false) whose natural key a seed holds: merged, it would make the seed private to one user
	ReasonSeededID            = "seeded_id"             // rejected: a row whose id a seed holds that does not merge onto it (a catalog without a natural key, fine print 4, or another key)
	ReasonIDTaken             = "id_taken"              // rejected: a row that joins another legacy table's rows in one target table under its own id or one derived from it, which a row of that table that loads already has
	ReasonExpiredSession      = "expired_session"       // discarded
	ReasonAllSessions         = "sessions_discarded"    // discarded: --no-sessions
	ReasonCredentialToken     = "credential_token"      // discarded
	ReasonPauseWithoutSession = "pause_without_session" // discarded: v15 pause row with NULL session_id
	ReasonNotInTarget         = "not_in_target"         // archived: the table is not in the target schema
	ReasonUnclaimedReward     = "unclaimed_reward"      // archived: a v21 reward that was never claimed
	ReasonDuplicateInTable    = "duplicate_in_table"    // merged: a row sharing Mapping.DedupeBy with an earlier row of its table, of the same user
)
