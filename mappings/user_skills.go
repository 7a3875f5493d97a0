package mappings

// userSkills archives every row of the legacy table user_skills: the target
// has no table for it.
var userSkills = Mapping{Legacy: "user_skills", ArchiveAll: true}
