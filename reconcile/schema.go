package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/migrations"
)

// schema compares the target's catalog with the one the migrations make
// (migrations.Catalog): a column dropped or narrowed since, or a unique
// index or a foreign key gone, fails the verification, though the rows
// may still compare equal through what is left; what the target has
// beyond the migrations is reported, failing nothing.
func (v *verifier) schema(ctx context.Context) error {
	return v.withTarget(ctx, func(conn *pgx.Conn) error {
		got, err := migrations.Catalog(ctx, conn)
		if err != nil {
			return err
		}
		want := migrations.MigratedCatalog()
		findings := catalogFindings(want, got)
		ic := InvariantCheck{Check: CheckSchema, Name: "the target's tables, columns, constraints and indexes are the migrations'",
			Rows: int64(len(want)), Severity: Failure}
		for _, f := range findings {
			if f.Severity == Failure {
				ic.Violations++
			}
			v.add(f)
		}
		ic.Holds = ic.Violations == 0
		v.addInvariant(ic)
		return nil
	})
}

// catalogFindings compares catalog lines ("<kind> <table>.<name>:
// <definition>") of the migrations (want) and of the target (got): an
// object the target lacks, or defines otherwise, is a failure; one it has
// beyond them is information.
func catalogFindings(want, got []string) []Finding {
	split := func(lines []string) map[string]string {
		m := make(map[string]string, len(lines))
		for _, l := range lines {
			k, def, _ := strings.Cut(l, ": ")
			m[k] = def
		}
		return m
	}
	w, g := split(want), split(got)
	// table returns the table of an object's key, and the key without it
	// ("column users.email" → "users", "column email").
	table := func(key string) (string, string) {
		kind, name, _ := strings.Cut(key, " ")
		t, obj, _ := strings.Cut(name, ".")
		return t, kind + " " + obj
	}
	var out []Finding
	for _, k := range sortedKeys(w) {
		t, obj := table(k)
		def, ok := g[k]
		switch {
		case !ok:
			out = append(out, Finding{Severity: Failure, Check: CheckSchema, Kind: KindSchemaMissing, Table: t, Key: obj,
				Message: fmt.Sprintf("the migrations make %s (%s); the target has none", k, w[k])})
		case def != w[k]:
			out = append(out, Finding{Severity: Failure, Check: CheckSchema, Kind: KindSchemaChanged, Table: t, Key: obj,
				Message: fmt.Sprintf("the migrations make %s %s; the target's is %s", k, w[k], def)})
		}
	}
	for _, k := range sortedKeys(g) {
		if _, ok := w[k]; !ok {
			t, obj := table(k)
			out = append(out, Finding{Severity: Info, Check: CheckSchema, Kind: KindSchemaExtra, Table: t, Key: obj,
				Message: fmt.Sprintf("the target has %s (%s), which the migrations do not make", k, g[k])})
		}
	}
	return out
}
