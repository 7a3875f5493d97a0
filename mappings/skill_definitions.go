package mappings

// skillDefinitions archives every row of the legacy table skill_definitions:
// the target has no table for it.
var skillDefinitions = Mapping{Legacy: "skill_definitions", ArchiveAll: true}
