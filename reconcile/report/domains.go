package report

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/cutover/cutover/migrations"
)

// A domain is one target migration file (0001_auth.sql → "auth"): the
// report groups its tables by the part of the application they serve.

var domainTitles = map[string]string{
	"auth":         "Accounts and access",
	"gamification": "Gamification",
	"focus":        "Focus",
	"habits_goals": "Habits and goals",
	"quests":       "Quests",
	"planning":     "Planning",
	"market":       "Market",
	"books":        "Books",
	"fitness":      "Fitness",
	"learn":        "Learn",
	"reference":    "Reference tracks",
	"platform":     "Platform",
	"other":        "Other",
}

// targetless places the legacy tables that reach no target table (archived
// or discarded by design) in the domain of the tables they belonged with.
var targetless = map[string]string{
	"verification_tokens": "auth", "authenticators": "auth", "entitlements": "auth", "role_entitlements": "auth",
	"skill_definitions": "gamification", "user_skills": "gamification",
	"plan_templates":         "planning",
	"market_recommendations": "market",
	"workout_sections":       "fitness", "personal_records": "fitness", "program_weeks": "fitness", "program_workouts": "fitness",
	"user_learn_srs":        "learn",
	"analysis_frame_chunks": "reference",
	"user_interests":        "platform", "feature_flags": "platform",
}

var (
	domainsOnce sync.Once
	tableDomain map[string]string
	domainList  []string
)

// loadDomains reads which migration file creates which target table.
func loadDomains() {
	tableDomain = map[string]string{}
	create := regexp.MustCompile(`(?i)CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(?:public\.)?"?([a-z_][a-z0-9_]*)`)
	files, _ := fs.Glob(migrations.FS(), "*.sql")
	slices.Sort(files)
	for _, f := range files {
		name := strings.TrimSuffix(f, ".sql")
		if _, rest, ok := strings.Cut(name, "_"); ok {
			name = rest
		}
		b, err := fs.ReadFile(migrations.FS(), f)
		if err != nil {
			continue
		}
		found := false
		for _, m := range create.FindAllStringSubmatch(string(b), -1) {
			tableDomain[m[1]] = name
			found = true
		}
		if found {
			domainList = append(domainList, name)
		}
	}
	domainList = append(domainList, "other")
}

func targetDomain(table string) string {
	domainsOnce.Do(loadDomains)
	if d, ok := tableDomain[table]; ok {
		return d
	}
	return "other"
}

func legacyDomain(legacy, target string) string {
	domainsOnce.Do(loadDomains)
	if target != "" {
		if d, ok := tableDomain[target]; ok {
			return d
		}
	}
	if d, ok := targetless[legacy]; ok {
		return d
	}
	return targetDomain(legacy)
}

func domainRank(name string) int {
	domainsOnce.Do(loadDomains)
	if i := slices.Index(domainList, name); i >= 0 {
		return i
	}
	return len(domainList)
}

func domainTitle(name string) string {
	if t, ok := domainTitles[name]; ok {
		return t
	}
	return strings.ReplaceAll(name, "_", " ")
}
