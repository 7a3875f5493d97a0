package mappings

// analysisFrameChunks archives every row of the legacy table
// analysis_frame_chunks: the target has no table for it.
var analysisFrameChunks = Mapping{Legacy: "analysis_frame_chunks", ArchiveAll: true}
