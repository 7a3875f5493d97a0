package mappings

// trackRegions maps the legacy table track_regions onto the target table of
// the same name.
var trackRegions = Mapping{
	Legacy: "track_regions", Target: "track_regions",
	Refs: []Ref{
		{Column: "track_id", Parent: "reference_tracks", Kind: Parent, Tenant: true},
		{Column: "user_id", Parent: "users", Kind: Owner},
	},
}
