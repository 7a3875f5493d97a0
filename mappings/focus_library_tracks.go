package mappings

// focusLibraryTracks maps the legacy table focus_library_tracks onto the
// target table of the same name.
var focusLibraryTracks = Mapping{
	Legacy: "focus_library_tracks", Target: "focus_library_tracks",
	Refs: []Ref{{Column: "library_id", Parent: "focus_libraries", Kind: Parent}},
}
