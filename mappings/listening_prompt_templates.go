package mappings

// listeningPromptTemplates maps the legacy table listening_prompt_templates
// onto the target table of the same name.
var listeningPromptTemplates = Mapping{
	// No natural key: loaded by id next to the seeds (fine print 4).
	Legacy: "listening_prompt_templates", Target: "listening_prompt_templates",
	Refs: []Ref{{Column: "created_by", Parent: "users", Kind: SetNull}},
}
