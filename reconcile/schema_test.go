package reconcile

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCatalogFindings: against the migrations' catalog, an object the
// target lacks or defines otherwise fails; one beyond them informs.
func TestCatalogFindings(t *testing.T) {
	want := []string{"column ideas.title: text NOT NULL", "column users.email: text NOT NULL", "index users.users_pkey: UNIQUE (id)"}
	for _, c := range []struct {
		name string
		got  []string
		want []Finding
	}{
		{"the same", want, nil},
		{"dropped, narrowed and added", []string{"column ideas.title: character varying(3) NOT NULL", "column ideas.x: integer", "index users.users_pkey: UNIQUE (id)"},
			[]Finding{
				{Severity: Failure, Check: CheckSchema, Kind: KindSchemaChanged, Table: "ideas", Key: "column title",
					Message: "the migrations make column ideas.title text NOT NULL; the target's is character varying(3) NOT NULL"},
				{Severity: Failure, Check: CheckSchema, Kind: KindSchemaMissing, Table: "users", Key: "column email",
					Message: "the migrations make column users.email (text NOT NULL); the target has none"},
				{Severity: Info, Check: CheckSchema, Kind: KindSchemaExtra, Table: "ideas", Key: "column x",
					Message: "the target has column ideas.x (integer), which the migrations do not make"},
			}},
		{"a policy added", append(slices.Clone(want[:2]), want[2], "policy users.p: SELECT USING false"),
			[]Finding{{Severity: Info, Check: CheckSchema, Kind: KindSchemaExtra, Table: "users", Key: "policy p",
				Message: "the target has policy users.p (SELECT USING false), which the migrations do not make"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, catalogFindings(want, c.got)); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
		})
	}
}
