package transform

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// QuestText is one row of the drift table quests: every column text, NULL
// as nil.
type QuestText struct {
	ID, UserID, Title, Description, Category, Difficulty     *string
	XPReward, CoinReward                                     *string
	IsUniversal, IsActive, IsRepeatable                      *string
	Status                                                   *string
	AcceptedAt, CompletedAt, ExpiresAt, CreatedAt, UpdatedAt *string
	RepeatFrequency                                          *string
}

// Quest is a quests row typed for user_quests.
type Quest struct {
	ID       uuid.UUID // the legacy id if it is a UUID, else DerivedID("quests", id)
	IDIsUUID bool
	UserID   *uuid.UUID // nil: a universal quest

	Title, Category, Difficulty, Status string
	Description, RepeatFrequency        *string
	XPReward, CoinReward                int32
	IsUniversal, IsActive, IsRepeatable bool

	AcceptedAt, CompletedAt, ExpiresAt *time.Time
	CreatedAt, UpdatedAt               time.Time
}

// InvalidValue says which column of a row holds a value outside the allowed
// forms.
type InvalidValue struct {
	Column string
	Value  *string
	Why    string
}

func (e *InvalidValue) Error() string {
	v := "NULL"
	if e.Value != nil {
		v = strconv.Quote(*e.Value)
	}
	return fmt.Sprintf("column %s: %s %s", e.Column, v, e.Why)
}

var (
	difficulties    = set("starter", "easy", "medium", "hard", "epic")
	questStatuses   = set("available", "accepted", "completed", "abandoned", "expired")
	repeatFrequency = set("daily", "weekly", "monthly")
	integerForm     = regexp.MustCompile(`^-?[0-9]+$`)
	plainTimestamp  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$`)
	isoTimestamp    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-]([0-9]{2}):([0-9]{2}))$`)
	// The times a quest may hold: years 1 to 9999 in UTC, as the epoch
	// form allows (PostgreSQL writes year 0 as 1 BC, and reads no
	// "0000" back).
	earliestQuestTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	latestQuestTime   = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// CoerceQuest types a quests row strictly (MAPPING.md fine print 8,
// DRIFT.md): booleans only 0 1 true false; timestamps only ISO 8601 with an
// offset, "YYYY-MM-DD HH:MM:SS" (UTC) or whole Unix epoch seconds; ” and
// NULL mean NULL; difficulty trimmed and lower-cased; rewards an optional
// "-" and digits within int4. A NULL value takes the target column's
// default (difficulty starter, status available, rewards 10 and 5, is_active
// true, is_repeatable false, is_universal true exactly when there is no
// user); created_at falls back to updated_at, accepted_at, completed_at and
// finally the Unix epoch, updated_at to created_at. Title and category are
// required. The first failing column, in table order, is returned.
func CoerceQuest(r QuestText) (Quest, *InvalidValue) {
	var q Quest
	id := deref(r.ID)
	if u, err := uuid.Parse(strings.TrimSpace(id)); err == nil && looksLikeUUID(strings.TrimSpace(id)) {
		q.ID, q.IDIsUUID = u, true
	} else {
		q.ID = DerivedID("quests", id)
	}
	if v := nullIfEmpty(r.UserID); v != nil {
		u, err := uuid.Parse(*v)
		if err != nil || !looksLikeUUID(*v) {
			return q, &InvalidValue{"user_id", r.UserID, "is not a UUID"}
		}
		q.UserID = &u
	}
	var bad *InvalidValue
	req := func(col string, v *string) string {
		if bad != nil {
			return ""
		}
		if s := nullIfEmpty(v); s != nil {
			return *s
		}
		bad = &InvalidValue{col, v, "is empty, and the column is required"}
		return ""
	}
	q.Title = req("title", r.Title)
	q.Description = nullIfEmpty(r.Description)
	q.Category = req("category", r.Category)
	if bad != nil {
		return q, bad
	}
	q.Difficulty = "starter"
	if v := nullIfEmpty(r.Difficulty); v != nil {
		// Padded with spaces, in any case (DRIFT.md): the ASCII ones, as
		// the names are (Unicode case mapping takes "MEDİUM" for medium).
		d := asciiLower(strings.Trim(*v, " "))
		if !difficulties[d] {
			return q, &InvalidValue{"difficulty", r.Difficulty, "is not one of starter, easy, medium, hard, epic"}
		}
		q.Difficulty = d
	}
	var err *InvalidValue
	if q.XPReward, err = int4("xp_reward", r.XPReward, 10); err != nil {
		return q, err
	}
	if q.CoinReward, err = int4("coin_reward", r.CoinReward, 5); err != nil {
		return q, err
	}
	// The rest in the legacy table's order: the first failing column is
	// the one named.
	if q.IsUniversal, err = boolean("is_universal", r.IsUniversal, q.UserID == nil); err != nil {
		return q, err
	}
	if q.UserID == nil && !q.IsUniversal {
		// '' or NULL user_id means a universal quest (fine print 8): a
		// quest of no user that says it is not one is refused, not made
		// universal behind the operator's back.
		return q, &InvalidValue{"is_universal", r.IsUniversal, "is false, and user_id is empty: a quest of no user is a universal quest"}
	}
	if q.IsActive, err = boolean("is_active", r.IsActive, true); err != nil {
		return q, err
	}
	if q.IsRepeatable, err = boolean("is_repeatable", r.IsRepeatable, false); err != nil {
		return q, err
	}
	q.Status = "available"
	if v := nullIfEmpty(r.Status); v != nil {
		if !questStatuses[*v] {
			return q, &InvalidValue{"status", r.Status, "is not one of available, accepted, completed, abandoned, expired"}
		}
		q.Status = *v
	}
	for _, ts := range []struct {
		col string
		in  *string
		out **time.Time
	}{
		{"accepted_at", r.AcceptedAt, &q.AcceptedAt},
		{"completed_at", r.CompletedAt, &q.CompletedAt},
		{"expires_at", r.ExpiresAt, &q.ExpiresAt},
	} {
		if *ts.out, err = timestamp(ts.col, ts.in); err != nil {
			return q, err
		}
	}
	created, err := timestamp("created_at", r.CreatedAt)
	if err != nil {
		return q, err
	}
	updated, err := timestamp("updated_at", r.UpdatedAt)
	if err != nil {
		return q, err
	}
	if v := nullIfEmpty(r.RepeatFrequency); v != nil {
		if !repeatFrequency[*v] {
			return q, &InvalidValue{"repeat_frequency", r.RepeatFrequency, "is not one of daily, weekly, monthly"}
		}
		q.RepeatFrequency = v
	}
	q.CreatedAt = firstTime(created, updated, q.AcceptedAt, q.CompletedAt)
	q.UpdatedAt = firstTime(updated, &q.CreatedAt)
	return q, nil
}

// looksLikeUUID accepts only the canonical 8-4-4-4-12 form (uuid.Parse also
// takes braces and urn: prefixes).
func looksLikeUUID(s string) bool { return len(s) == 36 && s[8] == '-' && s[13] == '-' }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nullIfEmpty(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

func int4(col string, v *string, def int32) (int32, *InvalidValue) {
	s := nullIfEmpty(v)
	if s == nil {
		return def, nil
	}
	if !integerForm.MatchString(*s) {
		return 0, &InvalidValue{col, v, "is not an integer"}
	}
	n, err := strconv.ParseInt(*s, 10, 32)
	if err != nil {
		return 0, &InvalidValue{col, v, "is out of the integer range"}
	}
	return int32(n), nil
}

func boolean(col string, v *string, def bool) (bool, *InvalidValue) {
	s := nullIfEmpty(v)
	if s == nil {
		return def, nil
	}
	switch *s {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, &InvalidValue{col, v, "is not a boolean (0, 1, true or false)"}
}

// asciiLower lower-cases the ASCII letters of s, and only them.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func timestamp(col string, v *string) (*time.Time, *InvalidValue) {
	s := nullIfEmpty(v)
	if s == nil {
		return nil, nil
	}
	var t time.Time
	var err error
	switch iso := isoTimestamp.FindStringSubmatch(*s); {
	case iso != nil:
		// An offset within PostgreSQL's ±15:59 (Go's parser takes +24:00).
		if iso[2] != "Z" && (iso[3] > "15" || iso[4] > "59") {
			return nil, &InvalidValue{col, v, "has an offset outside ±15:59"}
		}
		if t, err = time.Parse(time.RFC3339Nano, *s); err == nil {
			t = t.Truncate(time.Second).Add(microseconds(iso[1]))
		}
	case plainTimestamp.MatchString(*s):
		t, err = time.Parse("2006-01-02 15:04:05", *s)
	case integerForm.MatchString(*s):
		var n int64
		n, err = strconv.ParseInt(*s, 10, 64)
		if err == nil && (n < -62135596800 || n > 253402300799) {
			err = fmt.Errorf("out of range")
		}
		t = time.Unix(n, 0)
	default:
		return nil, &InvalidValue{col, v, "is not a timestamp in a known form"}
	}
	if err != nil {
		return nil, &InvalidValue{col, v, "is not a valid timestamp"}
	}
	if t = t.UTC(); t.Before(earliestQuestTime) || t.After(latestQuestTime) {
		return nil, &InvalidValue{col, v, "is outside the years 1 to 9999 (UTC)"}
	}
	return &t, nil
}

// microseconds is a timestamp's fraction of a second (".5", or "" for
// none) to the microsecond, the precision of timestamptz, rounded as
// PostgreSQL rounds such a text: the fraction read as a double, times a
// million, rounded half to even (rint). The value the target holds, and
// verify compares, is this one (pgx would truncate finer ones).
func microseconds(fraction string) time.Duration {
	if fraction == "" {
		return 0
	}
	f, err := strconv.ParseFloat(fraction, 64)
	if err != nil { // digits after a dot, as the form says
		return 0
	}
	return time.Duration(math.RoundToEven(f*1e6)) * time.Microsecond
}

func firstTime(ts ...*time.Time) time.Time {
	for _, t := range ts {
		if t != nil {
			return *t
		}
	}
	return time.Unix(0, 0).UTC()
}
