package reconcile

import (
	"strings"
	"testing"
)

// TestDescribeChangeShowsWhereValuesDiffer: two values that print alike
// (a composed é against e and a combining accent, or the same first 60
// characters) are shown from where they differ, escaped, so that the
// finding says what differs; others are shown as they are, and secrets
// never.
func TestDescribeChangeShowsWhereValuesDiffer(t *testing.T) {
	long := strings.Repeat("x", 70)
	for _, c := range []struct {
		name, col, legacy, target, want string
	}{
		{"plain", "title", "Tea", "Coffee", `title: legacy "Tea", target "Coffee"`},
		{"composed and decomposed", "title", "Café", "Cafe\u0301", `title: legacy "Caf\u00e9", target "Cafe\u0301"`},
		{"a no-break space", "title", "Green tea", "Green\u00a0tea", `title: legacy "Green tea", target "Green\u00a0tea"`},
		{"apart in ASCII, accents elsewhere", "title", "Crème A", "Crème B", `title: legacy "Crème A", target "Crème B"`},
		{"alike in the first 60", "notes", long + "a", long + "b", `notes: legacy …"xxxxxxxxxxa", target …"xxxxxxxxxxb"`},
		{"a secret", "password_hash", "a", "b", `password_hash: legacy ` + Redacted + `, target ` + Redacted},
		{"a secret key in JSON, changed", "details", `{"password": "SECRETMARK1", "k": 1}`, `{"password": "SECRETMARK2", "k": 1}`,
			`details: differ only in the values of keys that name secrets, which no report shows`},
		{"a secret key in JSON beside a change", "details", `{"apiKey": "SECRETMARK1", "k": 1}`, `{"apiKey": "SECRETMARK1", "k": 2}`,
			`details: legacy "{\"apiKey\":\"[redacted]\",\"k\":1}", target "{\"apiKey\":\"[redacted]\",\"k\":2}"`},
		{"a secret key past the first 60", "details", `{"a": "` + long + `", "token": "SECRETMARK1", "b": 1}`, `{"a": "` + long + `", "token": "SECRETMARK1", "b": 2}`,
			`details: legacy …"xxxx\",\"b\":1,\"token\":\"[redacted"…, target …"xxxx\",\"b\":2,\"token\":\"[redacted"…`},
		{"a secret key on one side", "details", `{"k": 1}`, `{"k": 1, "pwd": "SECRETMARK1"}`,
			`details: legacy "{\"k\": 1}", target "{\"k\":1,\"pwd\":\"[redacted]\"}"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := c.legacy, c.target
			names, got := describeChange([]string{c.col}, []*string{&a}, []*string{&b})
			if len(names) != 1 || names[0] != c.col || got != c.want {
				t.Errorf("describeChange = %v, %s\nwant %s", names, got, c.want)
			}
		})
	}
}
