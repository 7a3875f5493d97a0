package mappings

// userDrillStats maps the legacy table user_drill_stats onto the target
// table of the same name.
var userDrillStats = Mapping{
	Legacy: "user_drill_stats", Target: "user_drill_stats",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "drill_id", Parent: "learn_drills", Kind: Parent},
	},
}
