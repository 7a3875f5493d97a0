package mappings

// personalRecords archives every row of the legacy table personal_records:
// the target has no table for it.
var personalRecords = Mapping{Legacy: "personal_records", ArchiveAll: true}
