package mappings

// trackAnnotations maps the legacy table track_annotations onto the target
// table of the same name.
var trackAnnotations = Mapping{
	Legacy: "track_annotations", Target: "track_annotations",
	Refs: []Ref{
		{Column: "track_id", Parent: "reference_tracks", Kind: Parent, Tenant: true},
		{Column: "user_id", Parent: "users", Kind: Owner},
	},
}
