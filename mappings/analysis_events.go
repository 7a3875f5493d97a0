package mappings

// analysisEvents maps the legacy table analysis_events onto the target table
// of the same name.
var analysisEvents = Mapping{
	Legacy: "analysis_events", Target: "analysis_events",
	Refs: []Ref{{Column: "analysis_id", Parent: "track_analyses", Kind: Parent}},
}
