package mappings

// learnTopics maps the legacy table learn_topics onto the target table of
// the same name.
var learnTopics = Mapping{Legacy: "learn_topics", Target: "learn_topics", NaturalKey: []string{"key"}}
