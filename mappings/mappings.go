// Package mappings declares, for every legacy table in every shape, where its
// rows go in the target (MAPPING.md). A Mapping is data: which legacy table
// and shape it reads, which target table it feeds, how each target column is
// computed, which references each row must satisfy and which by-design rules
// archive, discard, merge or reject it. The load package turns a Mapping into
// set-based SQL; the transform package holds the row functions that need Go.
//
// All lists one explicit slice, All(); nothing registers itself.
package mappings

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// StageSchema holds the raw copies of the legacy tables in the target
// database while a cutover runs.
const StageSchema = "cutover_stage"

// Shape names a legacy table's column layout. Most tables have one shape in
// every flavor (AnyShape); market_items, user_wallet and focus_pause_state
// have two.
type Shape string

const (
	AnyShape Shape = ""
	ShapeV21 Shape = "v21" // after legacy migration 0017 (market/wallet) or 0016 (pause)
	ShapeV16 Shape = "v16" // before 0017, after 0016
	ShapeV15 Shape = "v15" // before 0016
)

// RefKind says what happens to a row whose reference does not reach the
// target (MAPPING.md fine print 2).
type RefKind int

const (
	// Owner is a user_id NOT NULL: the row is rejected (parent_rejected, or
	// orphan when the user never existed).
	Owner RefKind = iota
	// Parent is a NOT NULL foreign key (or a nullable one with ON DELETE
	// CASCADE): as Owner, when the column is not NULL.
	Parent
	// SetNull is a nullable reference whose target column is ON DELETE SET
	// NULL: it becomes NULL when what it points at does not reach the target.
	SetNull
	// Soft is a column that names a row but has no foreign key in either
	// schema (INVENTORY.md: orphans are possible): carried as it is, or
	// re-pointed as the row it names reached the target; nothing it points
	// at, or fails to, rejects the row. With Tenant, a row naming another
	// user's row that reaches the target is rejected (tenant_mismatch).
	Soft
)

// Ref is one reference of a legacy row to another legacy row.
type Ref struct {
	Column string  // legacy column holding the reference
	Parent string  // legacy table referenced
	Key    string  // referenced column; "" means id
	Kind   RefKind // what a missing parent means
	// Tenant requires the parent's user_id to equal TenantOf (default
	// "s.user_id"): otherwise the row is rejected (tenant_mismatch). A
	// row whose TenantOf is NULL has no tenant and is not checked. It
	// holds on a SelfRef too, whose parent's user_id is the stage row's.
	// A SetNull or Soft reference is checked only when its parent
	// reaches the target (otherwise it is cleared, or names nothing
	// there); a SetNull SelfRef's parent's fate is known only after its
	// own judgement, so such chains are judged top down.
	Tenant   bool
	TenantOf string
	// NullOwnerOK accepts a parent whose user_id is NULL (built-in rows).
	NullOwnerOK bool
}

// ParentKey returns the referenced column.
func (r Ref) ParentKey() string {
	if r.Key == "" {
		return "id"
	}
	return r.Key
}

// Lookup is a LEFT JOIN of the stage row s ({{stage}}, {{d:table}} and
// {{derived_id}} as in rules) and the columns it adds to s, as select-list
// items ("lk.id IS NOT NULL AS _id_taken").
type Lookup struct {
	Join    string
	Columns []string
}

// Rule is a by-design or data rule, checked in order before (ByDesign) or
// after the references. When is a SQL predicate over the stage row `s`.
type Rule struct {
	When        string
	Disposition Disposition
	Reason      string
	// Message is a SQL text expression; empty means a fixed message.
	Message string
	// TargetID is a SQL uuid expression for merged rows: the kept row.
	TargetID string
	// Same names, for a merged row, the target columns whose values the
	// row it merges onto shares with it (references as the legacy keys
	// they point at): what verify checks of every merged row.
	Same []string
}

// GoTransform names a transform of package transform that prepares a
// relation a mapping reads.
type GoTransform string

// The Go transforms.
const (
	// TypeQuests types the text quests (transform.CoerceQuest) into
	// {{stage}}.quests_typed.
	TypeQuests GoTransform = "type_quests"
	// DeriveMarketKeys derives the v21 market item keys
	// (transform.MarketKeys) into {{stage}}.market_item_keys.
	DeriveMarketKeys GoTransform = "derive_market_keys"
)

// Mapping is the fate of one legacy table in one shape.
type Mapping struct {
	// Legacy is the legacy table; Shape the layout this mapping reads.
	Legacy string
	Shape  Shape
	// Target is the target table; "" when no row reaches the target.
	Target string
	// As is the disposition of a row that reaches Target: Loaded (same
	// meaning) or Folded (a different table's row).
	As Disposition
	// Key lists the legacy key columns (default: id).
	Key []string
	// KeySQL, when set, renders the legacy key as text from the row `s`
	// instead of joining the key columns (to keep a secret out of it).
	KeySQL string
	// Prepare names the Go transform whose results the mapping reads
	// (From, or a relation of Joins): load runs it before deciding, and
	// verify derives the same values again from the source to compare
	// them. "" for none.
	Prepare GoTransform
	// From is the stage relation read instead of the raw stage copy of
	// Legacy (for tables that a Go transform prepares first).
	From string
	// Joins are extra SQL joins on the stage row `s`.
	Joins []string
	// Columns gives target columns their SQL expressions over `s`. Target
	// columns not listed take the legacy column of the same name when there
	// is one and their default otherwise. Reference columns default to their
	// resolved target id.
	Columns map[string]string
	// Omit lists target columns that keep their default although the legacy
	// table has a column of that name.
	Omit []string
	// TargetID is the SQL uuid expression of the row's target id (default
	// s.id); derived ids for folded rows.
	TargetID string
	Refs     []Ref
	// SelfRef is a column referencing this same table.
	SelfRef *Ref
	// ByDesign rules run first: archive and discard stand even when the
	// owner is rejected (fine print 1).
	ByDesign []Rule
	// Checks run after the references: data rejects, then merges.
	Checks []Rule
	// NaturalKey lists target columns of a unique key: a row whose key is
	// already in the target under another id merges onto that row, which
	// takes the legacy content (catalog collisions with the seeds).
	NaturalKey []string
	// SeedCollision rules are judged for a row whose natural key a seed
	// holds, just before it would merge onto that seed: the first whose
	// When holds decides instead (a private catalog row, which would
	// make the seed private to one user).
	SeedCollision []Rule
	// Exposes lists target columns whose decided values other mappings'
	// checks read from this mapping's decisions ({{d:table}}, as _x_<col>).
	Exposes []string
	// IndexTargetID indexes this mapping's decisions by target id (_tid)
	// when another mapping of the run reads them: that mapping's checks
	// ask, inside the judging CASE, whether an id is one of them (an
	// EXISTS, hashed only while the ids fit in work_mem, and a scan of
	// the decisions per row past that).
	IndexTargetID bool
	// Lookups add columns to the row s that Checks read, from LEFT JOINs
	// made before the rules judge it: hash joins, where an EXISTS inside
	// a rule is a subplan per row. Each joins at most one row.
	Lookups []Lookup
	// DedupeBy merges rows sharing these target columns onto the first by
	// DedupeOrder, among the rows that would otherwise reach the target;
	// in a target table with a user_id, a row of another user (or of none)
	// than the first's is rejected instead (tenant_mismatch): it is not
	// the same fact.
	DedupeBy    []string
	DedupeOrder string
	// DroppedColumns are legacy columns the target does not have; their
	// non-NULL values in rows that reach the target are counted.
	DroppedColumns []string
	// After names mappings (by Name) that must finish first besides those
	// that load referenced tables.
	After []string
	// ArchiveAll archives every row (the table is not in the target).
	ArchiveAll bool
	// DiscardAll discards every row with this reason.
	DiscardAll string
}

// Name identifies the mapping: the legacy table, and its shape when the
// table has more than one.
func (m Mapping) Name() string {
	if m.Shape == AnyShape {
		return m.Legacy
	}
	return m.Legacy + "@" + string(m.Shape)
}

// TenantRefs returns the references whose tenancy the mapping checks
// (Tenant), its SelfRef's included: the decisions reject their rows of
// another user's parent, and verify checks the target for them.
func (m Mapping) TenantRefs() []Ref {
	var out []Ref
	for _, r := range m.Refs {
		if r.Tenant {
			out = append(out, r)
		}
	}
	if m.SelfRef != nil && m.SelfRef.Tenant {
		out = append(out, *m.SelfRef)
	}
	return out
}

// KeyColumns returns the legacy key columns.
func (m Mapping) KeyColumns() []string {
	if len(m.Key) == 0 {
		return []string{"id"}
	}
	return m.Key
}

// KeyExpr renders the legacy key of the row with alias a as text: the key
// columns joined by ",", or KeySQL. The run and verify both use it, so that
// their keys agree.
func KeyExpr(m Mapping, a string) string {
	if m.KeySQL != "" {
		return strings.ReplaceAll(m.KeySQL, "s.", a+".")
	}
	cols := m.KeyColumns()
	if len(cols) == 1 {
		return a + "." + quote(cols[0]) + "::text"
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = a + "." + quote(c) + "::text"
	}
	return "concat_ws(','," + strings.Join(parts, ",") + ")"
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }

// Disposition returns the disposition of rows that reach the target.
func (m Mapping) Disposition() Disposition {
	if m.As == "" {
		return Loaded
	}
	return m.As
}

// Feeders returns the legacy tables whose mappings in ms write target
// table target, sorted, each once.
func Feeders(ms []Mapping, target string) []string {
	var legacy []string
	for _, m := range ms {
		if m.Target == target {
			legacy = append(legacy, m.Legacy)
		}
	}
	slices.Sort(legacy)
	return slices.Compact(legacy)
}

// ClaimLookups returns the legacy tables (sorted) whose rows' claims on
// target rows are looked up by target id, row by row: the feeders of
// every target table a mapping with a natural key merges onto. Deciding
// such a mapping asks, for each legacy row whose key is already in the
// target, whether that target row is one the cutover wrote.
func ClaimLookups(ms []Mapping) []string {
	var legacy []string
	for _, m := range ms {
		if len(m.NaturalKey) > 0 {
			legacy = append(legacy, Feeders(ms, m.Target)...)
		}
	}
	slices.Sort(legacy)
	return slices.Compact(legacy)
}

// All returns every mapping, one per file of this package, in an order
// where each mapping comes after the mappings it depends on (see Order),
// grouped by the target migration they write.
func All() []Mapping {
	return []Mapping{
		// auth: users, accounts, sessions, roles, user_roles, audit_log (0001_auth),
		// and the legacy auth tables the target does not keep.
		users, accounts, sessions, roles, userRoles, activityEvents, auditLog,
		verificationTokens, authenticators, entitlements, roleEntitlements,
		// gamification: 0002_gamification, the folded rewards and the archived
		// skill tables.
		achievementDefinitions, userAchievements, userProgress, userStreaks, pointsLedger,
		userWalletV16, userWalletV21, userRewards, skillDefinitions, userSkills,
		// market: 0007_market. The two legacy shapes of market_items merge into one.
		marketItemsV16, marketItemsV21, userPurchases, userMarketPurchases,
		marketTransactions, marketRecommendations,
		// focus: 0003_focus.
		focusSessions, focusLibraries, focusLibraryTracks, focusPauseStateV21,
		focusPauseStateV15,
		// habits and goals: 0004_habits_goals, with the drift table habit_logs.
		habits, goals, goalMilestones, habitCompletions, habitLogs,
		// quests: 0005_quests, with the drift table quests (text import).
		universalQuests, userQuests, userQuestProgress, quests,
		// books: 0008_books.
		books, readingSessions,
		// fitness: 0009_fitness, plus the archived fitness tables.
		exercises, workouts, trainingPrograms, workoutExercises, workoutSessions,
		exerciseSets, workoutSections, personalRecords, programWeeks, programWorkouts,
		// planning: 0006_planning, plus the archived plan templates; after
		// fitness, as an event's workout is judged by its owner.
		calendarEvents, dailyPlans, planTemplates,
		// learn: 0010_learn. Topics, lessons and drills merge with the seeds by key.
		learnTopics, learnLessons, learnDrills, userLessonProgress, userDrillStats,
		userLearnSrs,
		// reference: 0011_reference, plus the archived JSON frame chunks.
		referenceTracks, trackAnalyses, trackAnnotations, trackRegions,
		analysisFrameManifests, analysisFrameData, analysisEvents, analysisFrameChunks,
		listeningPromptTemplates, listeningPromptPresets,
		// platform: 0012_platform, with the drift table user_inbox. The behavior
		// tables (behavior_outbox, behavior_projection_state, decision_telemetry)
		// are new and stay empty.
		feedback, ideas, infobaseEntries, userSettings, userReferences, inboxItems,
		onboardingFlows, onboardingSteps, userOnboardingState, userOnboardingResponses,
		userInbox, userInterests, featureFlags,
	}
}

// ownedByUser is the plain 1:1 mapping of a table whose only reference is
// its owner.
func ownedByUser(table string) Mapping {
	return Mapping{
		Legacy: table, Target: table,
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	}
}

// For returns the mappings that apply to a source whose tables have the
// given shapes (legacy table → shape): per table, the mapping of its shape,
// or the AnyShape mapping.
func For(shapes map[string]Shape) ([]Mapping, error) {
	var out []Mapping
	byTable := map[string][]Mapping{}
	for _, m := range All() {
		byTable[m.Legacy] = append(byTable[m.Legacy], m)
	}
	tables := make([]string, 0, len(shapes))
	for t := range shapes {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		var found bool
		for _, m := range byTable[t] {
			if m.Shape == AnyShape || m.Shape == shapes[t] {
				out = append(out, m)
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("no mapping for legacy table %q in shape %q", t, shapes[t])
		}
	}
	return Order(out)
}

// Order sorts mappings so that every mapping follows those it depends on:
// the mappings that feed the target tables of its references, and its After
// list. It fails on a cycle.
func Order(ms []Mapping) ([]Mapping, error) {
	deps := Dependencies(ms)
	done := map[string]bool{}
	var out []Mapping
	for len(out) < len(ms) {
		progress := false
		for _, m := range ms {
			if done[m.Name()] {
				continue
			}
			ready := true
			for _, d := range deps[m.Name()] {
				if !done[d] {
					ready = false
					break
				}
			}
			if ready {
				done[m.Name()] = true
				out = append(out, m)
				progress = true
			}
		}
		if !progress {
			var left []string
			for _, m := range ms {
				if !done[m.Name()] {
					left = append(left, m.Name())
				}
			}
			return nil, fmt.Errorf("mapping dependency cycle among %s", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// Dependencies returns, per mapping name, the names of the mappings among ms
// that must finish before it.
func Dependencies(ms []Mapping) map[string][]string {
	feeders := map[string][]string{} // target table -> mapping names
	names := map[string]bool{}
	for _, m := range ms {
		names[m.Name()] = true
		if m.Target != "" {
			feeders[m.Target] = append(feeders[m.Target], m.Name())
		}
	}
	deps := map[string][]string{}
	for _, m := range ms {
		seen := map[string]bool{m.Name(): true}
		add := func(n string) {
			if !seen[n] && names[n] {
				seen[n] = true
				deps[m.Name()] = append(deps[m.Name()], n)
			}
		}
		for _, r := range m.Refs {
			// A reference resolves against the target table that the
			// parent's rows land in: all of its feeders must be done, except
			// those that themselves depend on this mapping's table.
			for _, f := range feeders[r.Parent] {
				add(f)
			}
		}
		for _, a := range m.After {
			for _, n := range namesOf(ms, a) {
				add(n)
			}
		}
		sort.Strings(deps[m.Name()])
	}
	return deps
}

// namesOf matches a mapping name or a legacy table name (all its shapes).
func namesOf(ms []Mapping, name string) []string {
	var out []string
	for _, m := range ms {
		if m.Name() == name || m.Legacy == name {
			out = append(out, m.Name())
		}
	}
	return out
}
