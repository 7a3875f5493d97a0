package mappings

// achievementDefinitions maps the legacy table achievement_definitions onto
// the target table of the same name.
var achievementDefinitions = Mapping{Legacy: "achievement_definitions", Target: "achievement_definitions", NaturalKey: []string{"key"}}
