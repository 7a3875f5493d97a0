package mappings

// analysisFrameData maps the legacy table analysis_frame_data onto the
// target table of the same name.
var analysisFrameData = Mapping{
	Legacy: "analysis_frame_data", Target: "analysis_frame_data",
	Refs: []Ref{{Column: "manifest_id", Parent: "analysis_frame_manifests", Kind: Parent}},
}
