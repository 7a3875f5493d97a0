package mappings

// onboardingSteps maps the legacy table onboarding_steps onto the target
// table of the same name.
var onboardingSteps = Mapping{
	Legacy: "onboarding_steps", Target: "onboarding_steps",
	NaturalKey: []string{"flow_id", "step_order"},
	Refs:       []Ref{{Column: "flow_id", Parent: "onboarding_flows", Kind: Parent}},
}
