package mappings

// userQuests maps the legacy table user_quests onto the target table of the
// same name.
var userQuests = Mapping{
	// The quests drift merge reads these decisions by target id, and
	// the user of the quest it would merge onto.
	Legacy: "user_quests", Target: "user_quests",
	Exposes:       []string{"user_id"},
	IndexTargetID: true,
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Parent}, // NULL = universal copy
		{Column: "source_quest_id", Parent: "universal_quests", Kind: SetNull},
	},
}
