package mappings

// userOnboardingState maps the legacy table user_onboarding_state onto the
// target table of the same name.
var userOnboardingState = Mapping{
	Legacy: "user_onboarding_state", Target: "user_onboarding_state",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "flow_id", Parent: "onboarding_flows", Kind: Parent},
		{Column: "current_step_id", Parent: "onboarding_steps", Kind: Parent},
	},
}
