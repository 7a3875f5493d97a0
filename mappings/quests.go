package mappings

// quests: 0005_quests, with the drift table quests (text import).
var quests = []Mapping{
	{
		Legacy: "universal_quests", Target: "universal_quests",
		Refs: []Ref{{Column: "created_by", Parent: "users", Kind: SetNull}},
	},
	{
		// The quests drift merge reads these decisions by target id only
		// (an EXISTS the planner hashes), so nothing is exposed.
		Legacy: "user_quests", Target: "user_quests",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Parent}, // NULL = universal copy
			{Column: "source_quest_id", Parent: "universal_quests", Kind: SetNull},
		},
	},
	{
		Legacy: "user_quest_progress", Target: "user_quest_progress",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "quest_id", Parent: "universal_quests", Kind: Parent},
		},
	},
	{
		// Rows typed by transform.CoerceQuest into the stage relation
		// quests_typed: id is the legacy id (text), uid the target id.
		Legacy: "quests", Target: "user_quests", From: "{{stage}}.quests_typed",
		// Fine print 8: the id-merge test comes first, whatever the values.
		ByDesign: []Rule{{
			When:        `s.id_is_uuid AND EXISTS (SELECT 1 FROM {{d:user_quests}} q WHERE q._tid = s.uid)`,
			Disposition: Merged, Reason: "duplicate_quest", TargetID: `s.uid`,
		}},
		Checks: []Rule{{
			When:        `s.invalid_column IS NOT NULL`,
			Disposition: Rejected, Reason: ReasonInvalidValue, Message: `s.invalid_message`,
		}},
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Parent},
		},
		TargetID: `s.uid`,
		Columns: map[string]string{
			"id": `s.uid`,
		},
		Omit:  []string{"sort_order"},
		After: []string{"user_quests"},
	},
}
