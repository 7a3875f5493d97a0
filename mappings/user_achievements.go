package mappings

// userAchievements maps the legacy table user_achievements onto the target
// table of the same name.
var userAchievements = Mapping{
	Legacy: "user_achievements", Target: "user_achievements",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "achievement_key", Parent: "achievement_definitions", Key: "key", Kind: Parent},
	},
}
