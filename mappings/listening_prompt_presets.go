package mappings

// listeningPromptPresets maps the legacy table listening_prompt_presets onto
// the target table of the same name.
var listeningPromptPresets = Mapping{
	Legacy: "listening_prompt_presets", Target: "listening_prompt_presets",
	Refs: []Ref{
		{Column: "template_id", Parent: "listening_prompt_templates", Kind: Parent},
		{Column: "created_by", Parent: "users", Kind: SetNull},
	},
}
