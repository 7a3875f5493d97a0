package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/transform"
)

// typesQuestsInGo reports whether m reads the text quests typed by
// transform.CoerceQuest (the drift table), as load prepares them: its
// content is compared by questContent, not by a checksum over the legacy
// row.
func typesQuestsInGo(m mappings.Mapping) bool { return m.Prepare == mappings.TypeQuests }

// questColumn is a target column a typed quest fills, and its value in a
// typed quest, as PostgreSQL reads it (nil: NULL).
type questColumn struct {
	name, typ string
	value     func(q transform.Quest) *string
}

func textOf(s string) *string { return &s }

func optText(s *string) *string { return s }

func timeText(t *time.Time) *string {
	if t == nil {
		return nil
	}
	return textOf(t.Format(time.RFC3339Nano))
}

// questColumns are the columns of user_quests a typed quest fills (its
// mapping reads them by name; id is its uid).
var questColumns = []questColumn{
	{"id", "uuid", func(q transform.Quest) *string { return textOf(q.ID.String()) }},
	{"user_id", "uuid", func(q transform.Quest) *string {
		if q.UserID == nil {
			return nil
		}
		return textOf(q.UserID.String())
	}},
	{"title", "text", func(q transform.Quest) *string { return textOf(q.Title) }},
	{"description", "text", func(q transform.Quest) *string { return optText(q.Description) }},
	{"category", "text", func(q transform.Quest) *string { return textOf(q.Category) }},
	{"difficulty", "text", func(q transform.Quest) *string { return textOf(q.Difficulty) }},
	{"xp_reward", "integer", func(q transform.Quest) *string { return textOf(strconv.Itoa(int(q.XPReward))) }},
	{"coin_reward", "integer", func(q transform.Quest) *string { return textOf(strconv.Itoa(int(q.CoinReward))) }},
	{"status", "text", func(q transform.Quest) *string { return textOf(q.Status) }},
	{"is_active", "boolean", func(q transform.Quest) *string { return textOf(strconv.FormatBool(q.IsActive)) }},
	{"is_universal", "boolean", func(q transform.Quest) *string { return textOf(strconv.FormatBool(q.IsUniversal)) }},
	{"is_repeatable", "boolean", func(q transform.Quest) *string { return textOf(strconv.FormatBool(q.IsRepeatable)) }},
	{"repeat_frequency", "text", func(q transform.Quest) *string { return optText(q.RepeatFrequency) }},
	{"accepted_at", "timestamp with time zone", func(q transform.Quest) *string { return timeText(q.AcceptedAt) }},
	{"completed_at", "timestamp with time zone", func(q transform.Quest) *string { return timeText(q.CompletedAt) }},
	{"expires_at", "timestamp with time zone", func(q transform.Quest) *string { return timeText(q.ExpiresAt) }},
	{"created_at", "timestamp with time zone", func(q transform.Quest) *string { return timeText(&q.CreatedAt) }},
	{"updated_at", "timestamp with time zone", func(q transform.Quest) *string { return timeText(&q.UpdatedAt) }},
}

// questChunk is how many typed quests one comparison on the target takes:
// verify streams the source's quests and holds this many at a time.
const questChunk = 5000

// questContent compares the quests the run loaded with the source, typed
// again by transform.CoerceQuest, as the run types them: each loaded
// quest's user_quests row (by the ledger's target id) must hold the typed
// values, and its id must be the typed uid. Rows the transform finds
// invalid are the run's rejects (the conservation check accounts for
// them); merged quests are compared as the row they merged onto.
func (v *verifier) questContent(ctx context.Context, m mappings.Mapping) error {
	target := v.tcat.Tables[m.Target]
	if target == nil {
		return fmt.Errorf("table %s is missing", m.Target)
	}
	var cols []questColumn
	for _, c := range questColumns {
		if target.has(c.name) {
			cols = append(cols, c)
		}
	}
	cc := ContentCheck{Mapping: m.Name(), Legacy: m.Legacy, Target: m.Target, Compared: []string{string(mappings.Loaded)}}
	omit := map[string]bool{}
	for _, c := range m.Omit {
		omit[c] = true
	}
	// Both sides of each compared column, as text: the typed value (u.cN),
	// or the fixed default of a column the typed quests leave to it; the
	// target's user_id mapped back to the legacy user's key where users
	// were re-keyed.
	var src, tgt []string
	joins := ""
	for _, c := range target.Columns {
		i := slices.IndexFunc(cols, func(q questColumn) bool { return q.name == c })
		switch {
		case i >= 0:
			src = append(src, fmt.Sprintf("(u.c%d::%s)::text", i, cols[i].typ))
		case omit[c]:
			continue
		case target.Fixed[c] != "":
			src = append(src, "("+target.Fixed[c]+")::"+target.Types[c]+"::text")
		default:
			cc.NotCompared = append(cc.NotCompared, c)
			continue
		}
		cc.Columns, cc.Computed = append(cc.Columns, c), append(cc.Computed, c)
		t := "t." + ident(c) + "::text"
		if c == "user_id" && v.rekeyed["users"] {
			var j string
			t, j = backward("t", "user_id", "users", "qb")
			joins += j
		}
		tgt = append(tgt, t)
	}
	params := []string{"$1::text[]"}
	names := []string{"k"}
	for i := range cols {
		params = append(params, fmt.Sprintf("$%d::text[]", i+2))
		names = append(names, fmt.Sprintf("c%d", i))
	}
	// A quest merged by id (mappings.Rule.Same begins with its id) points
	// at the row holding its typed uid, and shares the rest of Same with
	// it (its user): only those are compared for it.
	var byID []string
	same := []string{"id"}
	for _, r := range append(append([]mappings.Rule{}, m.ByDesign...), m.Checks...) {
		if r.Disposition == mappings.Merged && len(r.Same) > 0 && r.Same[0] == "id" {
			byID = append(byID, lit(r.Reason))
			for _, c := range r.Same[1:] {
				if !slices.Contains(same, c) && slices.Contains(cc.Columns, c) {
					same = append(same, c)
				}
			}
		}
	}
	// Rows merged onto the first of their id (DedupeBy) point at it too,
	// and share its user (the run rejects another user's row).
	if len(m.DedupeBy) == 1 && m.DedupeBy[0] == "id" {
		byID = append(byID, lit(mappings.ReasonDuplicateInTable))
		if !slices.Contains(same, "user_id") && slices.Contains(cc.Columns, "user_id") {
			same = append(same, "user_id")
		}
	}
	idCol := slices.IndexFunc(cols, func(q questColumn) bool { return q.name == "id" })
	merged := "false"
	if len(byID) > 0 && idCol >= 0 {
		merged = "d.disposition = 'merged' AND d.reason IN (" + strings.Join(byID, ", ") + ")"
	}
	mergedDiffers := "d.target_id IS DISTINCT FROM u.c" + fmt.Sprint(max(idCol, 0)) + "::uuid"
	for _, c := range same[1:] {
		j := slices.Index(cc.Columns, c)
		mergedDiffers += " OR " + src[j] + " IS DISTINCT FROM " + tgt[j]
	}
	q := `SELECT u.k, ` + merged + `, CASE WHEN ` + merged + ` THEN ` + mergedDiffers + `
				ELSE ARRAY[` + strings.Join(src, ", ") + `] IS DISTINCT FROM ARRAY[` + strings.Join(tgt, ", ") + `] END,
			ARRAY[` + strings.Join(src, ", ") + `], ARRAY[` + strings.Join(tgt, ", ") + `]
		FROM unnest(` + strings.Join(params, ", ") + `) AS u(` + strings.Join(names, ", ") + `)
		JOIN ` + bk + `.dispositions d ON d.legacy_table = ` + lit(m.Legacy) + ` AND d.legacy_key = u.k
			AND d.disposition IN ('loaded', 'merged') AND d.target_table = ` + lit(m.Target) + `
		JOIN public.` + ident(m.Target) + ` t ON t.id = d.target_id` + joins + `
		WHERE d.disposition = 'loaded' OR ` + merged + `
		ORDER BY u.k`
	compare := func(tc *pgx.Conn, keys []string, vals [][]*string) error {
		args := []any{keys}
		for _, col := range vals {
			args = append(args, col)
		}
		rows, err := tc.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		var k string
		var mergedByID, differs bool
		var a, b []*string
		_, err = pgx.ForEachRow(rows, []any{&k, &mergedByID, &differs, &a, &b}, func() error {
			if mergedByID {
				if differs {
					var parts []string
					for _, c := range same {
						j := slices.Index(cc.Columns, c)
						parts = append(parts, fmt.Sprintf("%s: legacy %s, target %s", c, deref(a[j]), deref(b[j])))
					}
					v.add(Finding{Severity: Failure, Check: CheckConservation, Kind: KindMergedElsewhere, Table: m.Legacy, Key: k, Columns: same,
						Message: fmt.Sprintf("merged onto a %s row that does not share its %s (the legacy id as a uuid): %s", m.Target, strings.Join(same, ", "), strings.Join(parts, "; "))})
				}
				return nil
			}
			cc.SourceRows++
			cc.TargetRows++
			if !differs {
				return nil
			}
			cc.Changed++
			f := Finding{Severity: Failure, Check: CheckContent, Kind: KindChangedRow, Table: m.Target, Key: k}
			f.Columns, f.Message = describeChange(cc.Columns, a, b)
			f.Message += " (the legacy text typed as the run types it)"
			v.add(f)
			return nil
		})
		return err
	}
	err := v.withBoth(ctx, func(sc, tc *pgx.Conn) error {
		rows, err := sc.Query(ctx, `SELECT id, user_id, title, description, category, difficulty, xp_reward,
			coin_reward, is_universal, is_active, is_repeatable, status, accepted_at, completed_at, expires_at,
			created_at, updated_at, repeat_frequency FROM public.`+ident(m.Legacy))
		if err != nil {
			return fmt.Errorf("read the legacy quests: %w", err)
		}
		defer rows.Close()
		var keys []string
		vals := make([][]*string, len(cols))
		flush := func() error {
			if len(keys) == 0 {
				return nil
			}
			if err := compare(tc, keys, vals); err != nil {
				return fmt.Errorf("compare the typed quests: %w", err)
			}
			keys = keys[:0]
			for i := range vals {
				vals[i] = vals[i][:0]
			}
			return nil
		}
		// The source's rows stream on its connection while the target
		// compares each chunk on its own.
		for rows.Next() {
			var t transform.QuestText
			if err := rows.Scan(&t.ID, &t.UserID, &t.Title, &t.Description, &t.Category, &t.Difficulty,
				&t.XPReward, &t.CoinReward, &t.IsUniversal, &t.IsActive, &t.IsRepeatable, &t.Status,
				&t.AcceptedAt, &t.CompletedAt, &t.ExpiresAt, &t.CreatedAt, &t.UpdatedAt, &t.RepeatFrequency); err != nil {
				return fmt.Errorf("read the legacy quests: %w", err)
			}
			typed, bad := transform.CoerceQuest(t)
			if bad != nil || t.ID == nil {
				continue
			}
			keys = append(keys, *t.ID)
			for i, c := range cols {
				vals[i] = append(vals[i], c.value(typed))
			}
			if len(keys) == questChunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the legacy quests: %w", err)
		}
		return flush()
	})
	if err != nil {
		return err
	}
	cc.Equal = cc.Changed == 0
	v.mu.Lock()
	v.res.Contents = append(v.res.Contents, cc)
	v.mu.Unlock()
	return nil
}
