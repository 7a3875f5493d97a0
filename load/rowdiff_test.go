package load

import (
	"strings"
	"testing"
)

// TestRowDiff: a sample of an update shows numbers as written (a bigint
// beyond 2^53 was rounded to a float, and every integer shown in
// e-notation), and a row that differs only in a secret column says so
// without showing it (its diff was empty).
func TestRowDiff(t *testing.T) {
	for _, c := range []struct {
		name       string
		have, want string
		diffHas    []string
		diffLacks  []string
		same       []string // top-level columns not shown as changed
		exact      string
	}{
		{name: "a bigint beyond 2^53", have: `{"id": "a", "expires_at": 9007199254740992}`, want: `{"id": "a", "expires_at": 9007199254740993}`,
			diffHas: []string{"int64(9007199254740992)", "int64(9007199254740993)"}, diffLacks: []string{"e+", "float64"}},
		{name: "an integer", have: `{"id": "a", "n": 1636485548, "s": "x"}`, want: `{"id": "a", "n": 1636485548, "s": "y"}`,
			diffHas: []string{`"s"`}, diffLacks: []string{"e+", "float64"}},
		{name: "a fraction", have: `{"id": "a", "w": 12.50}`, want: `{"id": "a", "w": 12.25}`,
			diffHas: []string{`"12.50"`, `"12.25"`}, diffLacks: []string{"float64"}},
		// Numbers equal as jsonb (12.50 and 12.5) are no difference.
		{name: "a number written otherwise in a document", have: `{"id": "a", "doc": {"w": 12.50}, "s": "x"}`, want: `{"id": "a", "doc": {"w": 12.5}, "s": "y"}`,
			diffHas: []string{`"s"`}, same: []string{"doc"}},
		{name: "a secret only", have: `{"id": "a", "token": "old-secret"}`, want: `{"id": "a", "token": "new-secret"}`,
			exact: "(the rows differ only in token, which no report shows)\n"},
		{name: "a secret and a value", have: `{"id": "a", "token": "old-secret", "n": 1}`, want: `{"id": "a", "token": "new-secret", "n": 2}`,
			diffHas: []string{"int64(1)", "int64(2)"}, diffLacks: []string{"old-secret", "new-secret"}},
		// Within a document, at any depth: go-cmp writes a small nested
		// map on one line, which a line's key cannot tell.
		{name: "secrets within a document", have: `{"id": "a", "details": {"apiKey": "MARK_AK1", "h": {"Authorization": "Bearer MARK_AUTH1", "cookie": "MARK_CK1"}, "l": [{"pwd": "MARK_PW1"}], "note": "x"}}`,
			want:    `{"id": "a", "details": {"apiKey": "MARK_AK2", "h": {"Authorization": "Bearer MARK_AUTH2", "cookie": "MARK_CK2"}, "l": [{"pwd": "MARK_PW2"}], "note": "y"}}`,
			diffHas: []string{`"x"`, `"y"`}, diffLacks: []string{"MARK_"}},
		{name: "secrets within a document only", have: `{"id": "a", "details": {"h": {"Authorization": "Bearer MARK_AUTH1"}}}`,
			want:  `{"id": "a", "details": {"h": {"Authorization": "Bearer MARK_AUTH2"}}}`,
			exact: "(the rows differ only in the values of keys that name secrets within a document, which no report shows)\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := rowDiff([]byte(c.have), []byte(c.want), []string{"id"})
			if err != nil {
				t.Fatal(err)
			}
			if d.Key != "a" {
				t.Errorf("key %q, want a", d.Key)
			}
			if c.exact != "" && d.Diff != c.exact {
				t.Errorf("diff %q, want %q", d.Diff, c.exact)
			}
			if c.exact == "" && d.Diff == "" {
				t.Error("an empty diff")
			}
			for _, s := range c.diffHas {
				if !strings.Contains(d.Diff, s) {
					t.Errorf("the diff lacks %q:\n%s", s, d.Diff)
				}
			}
			changed := diffLines(d.Diff)
			for _, col := range c.same {
				if _, ok := changed["-"][col]; ok {
					t.Errorf("%s shown as changed:\n%s", col, d.Diff)
				}
			}
			for _, s := range c.diffLacks {
				if strings.Contains(d.Diff, s) {
					t.Errorf("the diff shows %q:\n%s", s, d.Diff)
				}
			}
		})
	}
}
