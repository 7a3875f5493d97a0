package mappings

// trackAnalyses maps the legacy table track_analyses onto the target table
// of the same name.
var trackAnalyses = Mapping{
	Legacy: "track_analyses", Target: "track_analyses",
	Refs: []Ref{{Column: "track_id", Parent: "reference_tracks", Kind: Parent}},
}
