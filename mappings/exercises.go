package mappings

// exercises maps the legacy table exercises onto the target table of the
// same name.
var exercises = Mapping{
	// user_id NULL is a built-in exercise.
	Legacy: "exercises", Target: "exercises",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Parent}},
}
