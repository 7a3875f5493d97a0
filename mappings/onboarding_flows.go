package mappings

// onboardingFlows maps the legacy table onboarding_flows onto the target
// table of the same name.
var onboardingFlows = Mapping{Legacy: "onboarding_flows", Target: "onboarding_flows", NaturalKey: []string{"name"}}
