package mappings

// learn: 0010_learn. Topics, lessons and drills merge with the seeds by key.
var learn = []Mapping{
	{Legacy: "learn_topics", Target: "learn_topics", NaturalKey: []string{"key"}},
	{
		Legacy: "learn_lessons", Target: "learn_lessons", NaturalKey: []string{"key"},
		Refs: []Ref{{Column: "topic_id", Parent: "learn_topics", Kind: Parent}},
	},
	{
		Legacy: "learn_drills", Target: "learn_drills", NaturalKey: []string{"key"},
		Refs: []Ref{{Column: "topic_id", Parent: "learn_topics", Kind: Parent}},
	},
	{
		Legacy: "user_lesson_progress", Target: "user_lesson_progress",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "lesson_id", Parent: "learn_lessons", Kind: Parent},
		},
	},
	{
		Legacy: "user_drill_stats", Target: "user_drill_stats",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "drill_id", Parent: "learn_drills", Kind: Parent},
		},
	},
	{Legacy: "user_learn_srs", ArchiveAll: true},
}
