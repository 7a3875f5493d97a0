package mappings

// universalQuests maps the legacy table universal_quests onto the target
// table of the same name.
var universalQuests = Mapping{
	Legacy: "universal_quests", Target: "universal_quests",
	Refs: []Ref{{Column: "created_by", Parent: "users", Kind: SetNull}},
}
