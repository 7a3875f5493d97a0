package mappings

// goalMilestones maps the legacy table goal_milestones onto the target table
// of the same name.
var goalMilestones = Mapping{
	Legacy: "goal_milestones", Target: "goal_milestones",
	Refs: []Ref{{Column: "goal_id", Parent: "goals", Kind: Parent}},
}
