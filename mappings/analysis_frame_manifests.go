package mappings

// analysisFrameManifests maps the legacy table analysis_frame_manifests onto
// the target table of the same name.
var analysisFrameManifests = Mapping{
	Legacy: "analysis_frame_manifests", Target: "analysis_frame_manifests",
	Refs: []Ref{{Column: "analysis_id", Parent: "track_analyses", Kind: Parent}},
}
