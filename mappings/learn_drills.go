package mappings

// learnDrills maps the legacy table learn_drills onto the target table of
// the same name.
var learnDrills = Mapping{
	Legacy: "learn_drills", Target: "learn_drills", NaturalKey: []string{"key"},
	Refs: []Ref{{Column: "topic_id", Parent: "learn_topics", Kind: Parent}},
}
