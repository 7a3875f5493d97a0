package mappings

// planTemplates archives every row of the legacy table plan_templates: the
// target has no table for it.
var planTemplates = Mapping{Legacy: "plan_templates", ArchiveAll: true}
