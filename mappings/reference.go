package mappings

// reference: 0011_reference, plus the archived JSON frame chunks.
var reference = []Mapping{
	ownedByUser("reference_tracks"),
	{
		Legacy: "track_analyses", Target: "track_analyses",
		Refs: []Ref{{Column: "track_id", Parent: "reference_tracks", Kind: Parent}},
	},
	{
		Legacy: "track_annotations", Target: "track_annotations",
		Refs: []Ref{
			{Column: "track_id", Parent: "reference_tracks", Kind: Parent, Tenant: true},
			{Column: "user_id", Parent: "users", Kind: Owner},
		},
	},
	{
		Legacy: "track_regions", Target: "track_regions",
		Refs: []Ref{
			{Column: "track_id", Parent: "reference_tracks", Kind: Parent, Tenant: true},
			{Column: "user_id", Parent: "users", Kind: Owner},
		},
	},
	{
		Legacy: "analysis_frame_manifests", Target: "analysis_frame_manifests",
		Refs: []Ref{{Column: "analysis_id", Parent: "track_analyses", Kind: Parent}},
	},
	{
		Legacy: "analysis_frame_data", Target: "analysis_frame_data",
		Refs: []Ref{{Column: "manifest_id", Parent: "analysis_frame_manifests", Kind: Parent}},
	},
	{
		Legacy: "analysis_events", Target: "analysis_events",
		Refs: []Ref{{Column: "analysis_id", Parent: "track_analyses", Kind: Parent}},
	},
	{Legacy: "analysis_frame_chunks", ArchiveAll: true},
	{
		// No natural key: loaded by id next to the seeds (fine print 4).
		Legacy: "listening_prompt_templates", Target: "listening_prompt_templates",
		Refs: []Ref{{Column: "created_by", Parent: "users", Kind: SetNull}},
	},
	{
		Legacy: "listening_prompt_presets", Target: "listening_prompt_presets",
		Refs: []Ref{
			{Column: "template_id", Parent: "listening_prompt_templates", Kind: Parent},
			{Column: "created_by", Parent: "users", Kind: SetNull},
		},
	},
}
