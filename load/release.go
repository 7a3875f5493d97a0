package load

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// stageRelease drops each stage relation (a legacy table's stage copy, a
// decision table, a prepared relation) as soon as the last mapping whose
// apply reads it has committed, instead of all of them at the end of the
// run: at 10M rows the stage holds gigabytes, and unlinking them all at
// once took seconds after the last mapping. What no apply reads stays for
// the final drop of the schema.
type stageRelease struct {
	mu    sync.Mutex
	users map[string]int      // relation (quoted, schema-qualified) → mappings yet to apply
	reads map[string][]string // mapping → relations its apply reads
}

// newStageRelease counts, per stage relation of schema stage, the mappings
// whose apply statements name it. plans holds every mapping's plan, of
// which the run applies those in applied (nil: all).
func newStageRelease(stage string, plans map[string]*Plan, applied map[string]bool) *stageRelease {
	r := &stageRelease{users: map[string]int{}, reads: map[string][]string{}}
	for name, p := range plans {
		if !has(applied, name) {
			continue
		}
		sql := slices.Concat([]string{p.LedgerRows, p.FirstInsert}, p.Upsert, p.FirstResults, p.FirstUpsert)
		for _, c := range p.FKChecks {
			sql = append(sql, c.SQL)
		}
		rels := stageRelations(stage, strings.Join(sql, "\n"))
		r.reads[name] = rels
		for _, rel := range rels {
			r.users[rel]++
		}
	}
	return r
}

// stageRelations lists the distinct relations of schema stage that sql
// names, quoted and qualified, in order of first mention.
func stageRelations(stage, sql string) []string {
	var out []string
	for _, n := range stageRelationNames(stage, sql) {
		out = append(out, ident(stage, n))
	}
	return out
}

// stageRelationNames lists the names (unquoted) of the distinct relations
// of schema stage that sql names, in order of first mention.
func stageRelationNames(stage, sql string) []string { return namesAfter(ident(stage)+".", sql) }

// namesAfter lists the distinct SQL identifiers (quoted or not; returned
// unquoted) that follow prefix, a literal text, in sql, in order of first
// mention.
func namesAfter(prefix, sql string) []string {
	re := regexp.MustCompile(regexp.QuoteMeta(prefix) + `("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`)
	var out []string
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(sql, -1) {
		name := m[1]
		if strings.HasPrefix(name, `"`) {
			name = strings.ReplaceAll(name[1:len(name)-1], `""`, `"`)
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// applied records that mapping has committed and returns the relations no
// mapping still to apply reads.
func (r *stageRelease) applied(mapping string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var free []string
	for _, rel := range r.reads[mapping] {
		if r.users[rel]--; r.users[rel] == 0 {
			free = append(free, rel)
		}
	}
	delete(r.reads, mapping)
	return free
}
