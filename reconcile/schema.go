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
		return t, strings.TrimSpace(kind + " " + obj)
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

// seedContent compares each seeded row no legacy row merged onto with the
// content 0013_seeds.sql gives it (migrations.SeedContent), and for a
// seeded row a legacy row merged onto, the content the run kept of it
// (cutover.seeds_replaced), which a re-run writes back once nothing
// merges onto it: an item made free, a reward raised, by hand or by a
// bug, fails. (A missing seed is missing_seed's; a merged one's content
// is compared with its legacy row's, as content.)
func (v *verifier) seedContent(ctx context.Context) error {
	want := migrations.MigratedSeedContent()
	return v.withTarget(ctx, func(conn *pgx.Conn) error {
		lines, err := migrations.SeedContent(ctx, conn)
		if err != nil {
			return err
		}
		got := migrations.SeedContentByRow(lines)
		ids := make([]string, 0, len(want))
		for k := range want {
			_, id, _ := strings.Cut(k, " ")
			ids = append(ids, id)
		}
		// The seeds a legacy row merged onto, with the hash of the content
		// the run kept of them ("" when it kept none).
		rows, err := conn.Query(ctx, `SELECT d.target_table || ' ' || d.target_id::text,
				coalesce(max(`+migrations.SeedContentSQL("r.row", "r.target_table")+`), '')
			FROM `+bk+`.dispositions d LEFT JOIN `+bk+`.seeds_replaced r ON r.target_table = d.target_table AND r.target_id = d.target_id
			WHERE d.disposition = 'merged' AND d.target_id = ANY($1::uuid[])
			GROUP BY 1`, ids)
		if err != nil {
			return fmt.Errorf("read the seeds merged onto: %w", err)
		}
		merged := map[string]string{}
		var key, kept string
		if _, err := pgx.ForEachRow(rows, []any{&key, &kept}, func() error {
			merged[key] = kept
			return nil
		}); err != nil {
			return fmt.Errorf("read the seeds merged onto: %w", err)
		}
		ic := InvariantCheck{Check: CheckSeeds, Name: "the seeded rows are 0013_seeds.sql's (those merged onto: the content the run kept of them)",
			Rows: int64(len(want)), Severity: Failure}
		for _, k := range sortedKeys(want) {
			table, id, _ := strings.Cut(k, " ")
			var msg string
			if kept, ok := merged[k]; ok {
				switch kept {
				case want[k]:
				case "":
					msg = "a legacy row merged onto this seeded row, and the run kept none of the seed's own content (cutover.seeds_replaced), which a re-run writes back once nothing merges onto it"
				default:
					msg = "the seed's own content the run kept (cutover.seeds_replaced), which a re-run writes back once nothing merges onto it, is not what 0013_seeds.sql gives it"
				}
			} else if h, ok := got[k]; ok && h != want[k] {
				msg = "the seeded row is not as 0013_seeds.sql writes it, and no legacy row merged onto it"
			}
			if msg != "" {
				ic.Violations++
				v.add(Finding{Severity: Failure, Check: CheckSeeds, Kind: KindSeedChanged, Table: table, Key: id, Message: msg})
			}
		}
		ic.Holds = ic.Violations == 0
		v.addInvariant(ic)
		return nil
	})
}
