package mappings

// programWeeks archives every row of the legacy table program_weeks: the
// target has no table for it.
var programWeeks = Mapping{Legacy: "program_weeks", ArchiveAll: true}
