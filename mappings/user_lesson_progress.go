package mappings

// userLessonProgress maps the legacy table user_lesson_progress onto the
// target table of the same name.
var userLessonProgress = Mapping{
	Legacy: "user_lesson_progress", Target: "user_lesson_progress",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "lesson_id", Parent: "learn_lessons", Kind: Parent},
	},
}
