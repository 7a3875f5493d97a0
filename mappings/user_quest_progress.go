package mappings

// userQuestProgress maps the legacy table user_quest_progress onto the
// target table of the same name.
var userQuestProgress = Mapping{
	Legacy: "user_quest_progress", Target: "user_quest_progress",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "quest_id", Parent: "universal_quests", Kind: Parent},
	},
}
