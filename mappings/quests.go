package mappings

// quests maps the legacy table quests onto user_quests.
var quests = Mapping{
	// Rows typed by transform.CoerceQuest into the stage relation
	// quests_typed: id is the legacy id (text), uid the target id.
	Legacy: "quests", Target: "user_quests", Prepare: TypeQuests, From: "{{stage}}.quests_typed",
	// Fine print 8: the id-merge test comes first, whatever the values.
	// The id of another user's quest (or of a universal quest's copy, for
	// a quest of a user) is not the same fact: merged, this quest would
	// be lost into the other's, so it is rejected (tenant_mismatch). One
	// whose user_id is not a uuid (typed NULL) is neither merged nor
	// rejected so: its user is unknown, and the checks reject it
	// (invalid_value).
	ByDesign: []Rule{{
		When: `s.id_is_uuid AND s.invalid_column IS DISTINCT FROM 'user_id' AND
				EXISTS (SELECT 1 FROM {{d:user_quests}} q WHERE q._tid = s.uid AND q._x_user_id IS DISTINCT FROM s.user_id)`,
		Disposition: Rejected, Reason: ReasonTenantMismatch,
		Message: `format('id %s is a quest of %s, and this row is of %s: not the same quest, so not merged; give it another id in the source', s.uid, ` +
			`coalesce('user ' || (SELECT q._x_user_id FROM {{d:user_quests}} q WHERE q._tid = s.uid LIMIT 1), 'no user'), coalesce('user ' || s.user_id, 'no user'))`,
	}, {
		When: `s.id_is_uuid AND s.invalid_column IS DISTINCT FROM 'user_id' AND
				EXISTS (SELECT 1 FROM {{d:user_quests}} q WHERE q._tid = s.uid AND q._x_user_id IS NOT DISTINCT FROM s.user_id)`,
		Disposition: Merged, Reason: "duplicate_quest", TargetID: `s.uid`, Same: []string{"id", "user_id"},
	}},
	Checks: []Rule{{
		When:        `s.invalid_column IS NOT NULL`,
		Disposition: Rejected, Reason: ReasonInvalidValue, Message: `s.invalid_message`,
	}, {
		// A derived id (the legacy id is no uuid) that a user_quests row
		// that loads holds: two quests, one id, and the user quest keeps
		// it. (It stopped the run on the target's primary key.)
		When:        `NOT s.id_is_uuid AND EXISTS (SELECT 1 FROM {{d:user_quests}} q WHERE q._tid = s.uid)`,
		Disposition: Rejected, Reason: ReasonIDTaken,
		Message: `format('id %s, derived from this quest''s id, is the id of a legacy user_quests row, which keeps it; give this quest another id in the source', s.uid)`,
	}},
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Parent},
	},
	TargetID: `s.uid`,
	Columns: map[string]string{
		"id": `s.uid`,
	},
	// Ids compared as UUIDs: two rows whose ids differ only in letter
	// case or surrounding spaces are one quest, which the first by
	// (created_at, the id's bytes) keeps; a row of another user (or of
	// none) than the first's is rejected (tenant_mismatch).
	DedupeBy:    []string{"id"},
	DedupeOrder: `s.created_at, s.id COLLATE "C"`,
	Omit:        []string{"sort_order"},
	After:       []string{"user_quests"},
}
