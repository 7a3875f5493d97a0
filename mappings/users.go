package mappings

// users maps the legacy table users onto the target table of the same name.
var users = Mapping{
	Legacy: "users", Target: "users",
	Checks: []Rule{{
		// Case-insensitive emails: the oldest (created_at, id) of a group
		// loads, the others are rejected with all their data.
		When: `EXISTS (SELECT 1 FROM {{stage}}.users o
				WHERE lower(o.email) = lower(s.email) AND (o.created_at, o.id) < (s.created_at, s.id))`,
		Disposition: Rejected, Reason: ReasonDuplicateEmail,
		Message: `format('email %s equals the email of user %s ignoring case: merge or rename one of them in the source, then re-run',
				s.email, (SELECT o.id FROM {{stage}}.users o WHERE lower(o.email) = lower(s.email)
					ORDER BY o.created_at, o.id LIMIT 1))`,
	}},
}
