package mappings

// habitLogs maps the legacy table habit_logs onto habit_completions.
var habitLogs = Mapping{
	// Fine print 6: orphan → parent_rejected → tenant_mismatch → merged
	// onto a loading completion → first log of a key loads.
	Legacy: "habit_logs", Target: "habit_completions",
	Refs: []Ref{
		{Column: "habit_id", Parent: "habits", Kind: Parent, Tenant: true},
		{Column: "user_id", Parent: "users", Kind: Owner},
	},
	Columns: map[string]string{
		// A finite date past the last timestamp's (294276-12-31) has no
		// midnight:
		// NULL here, and the row rejected below (never evaluated as a
		// cast that fails the whole mapping).
		"completed_at": `coalesce(s.created_at, CASE WHEN s.completed_date <= '294276-12-31'::date OR NOT isfinite(s.completed_date) THEN s.completed_date::timestamp AT TIME ZONE 'UTC' END)`,
	},
	Checks: []Rule{{
		When: `EXISTS (SELECT 1 FROM {{d:habit_completions}} c
				WHERE c._x_habit_id = s.habit_id AND c._x_completed_date = s.completed_date)`,
		Disposition: Merged, Reason: "duplicate_completion", Same: []string{"habit_id", "completed_date"},
		TargetID: `(SELECT c._tid FROM {{d:habit_completions}} c
				WHERE c._x_habit_id = s.habit_id AND c._x_completed_date = s.completed_date LIMIT 1)`,
	}, {
		// The id of a legacy completion that loads (of another habit or
		// day, or it would have merged above): two facts, one id, and the
		// completion keeps it. A completion rejected keeps no id.
		When:        `s._id_taken`,
		Disposition: Rejected, Reason: ReasonIDTaken,
		Message: `format('id %s is the id of a legacy habit_completions row of another habit or day, which keeps it; give this log another id in the source', s.id)`,
	}, {
		// A row that loads needs a completed_at.
		When:        `s.created_at IS NULL AND isfinite(s.completed_date) AND s.completed_date > '294276-12-31'::date`,
		Disposition: Rejected, Reason: ReasonInvalidValue,
		Message: `format('column completed_date: %s is past the last date a timestamp holds (294276-12-31), and created_at is NULL: completed_at has no value', s.completed_date)`,
	}},
	Lookups: []Lookup{{
		Join:    `LEFT JOIN {{d:habit_completions}} lk_completion ON lk_completion._tid = s.id`,
		Columns: []string{`lk_completion._tid IS NOT NULL AS _id_taken`},
	}},
	DedupeBy:    []string{"habit_id", "completed_date"},
	DedupeOrder: `s.created_at NULLS LAST, s.id`,
	After:       []string{"habit_completions"},
}
