package mappings

// userOnboardingResponses maps the legacy table user_onboarding_responses
// onto the target table of the same name.
var userOnboardingResponses = Mapping{
	Legacy: "user_onboarding_responses", Target: "user_onboarding_responses",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "step_id", Parent: "onboarding_steps", Kind: Parent},
	},
}
