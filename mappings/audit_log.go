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
}
