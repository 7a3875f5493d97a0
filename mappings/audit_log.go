package mappings

// auditLog maps the legacy table audit_log onto the target table of the same
// name.
var auditLog = Mapping{
	Legacy: "audit_log", Target: "audit_log",
	Refs: []Ref{
		// Nullable, but a row of a rejected user is rejected with it
		// (fine print 2); NULL stays NULL.
		{Column: "user_id", Parent: "users", Kind: Parent},
		// Another user's session: rejected (tenant_mismatch); a row
		// without a user has no tenant.
		{Column: "session_id", Parent: "sessions", Kind: SetNull, Tenant: true},
	},
	// activity_events fold into this table under their own ids, which no
	// audit entry has (id_taken): a row may move between the two from
	// one run to the next, which feeders ordered one after the other
	// hand over. The activities first: the larger table is loaded into
	// the empty table, its indexes built after.
	After: []string{"activity_events"},
}
