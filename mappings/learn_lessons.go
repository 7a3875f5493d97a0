package mappings

// learnLessons maps the legacy table learn_lessons onto the target table of
// the same name.
var learnLessons = Mapping{
	Legacy: "learn_lessons", Target: "learn_lessons", NaturalKey: []string{"key"},
	Refs: []Ref{{Column: "topic_id", Parent: "learn_topics", Kind: Parent}},
}
