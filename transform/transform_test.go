package transform

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func TestSlug(t *testing.T) {
	tests := map[string]string{
		"Café Crème":       "cafe-creme",
		"cafe creme":       "cafe-creme",
		"CAFE--CRÈME!":     "cafe-creme",
		"  Streak Freeze ": "streak-freeze",
		"Straße & Øl":      "strasse-ol",
		"🎉 Party 🎉":        "party",
		"🎉":                "item",
		"Naïve_résumé 2.0": "naive-resume-2-0",
		"Ａｂｃ":              "abc",  // full-width letters fold to ASCII (NFKD of letters)
		"مرحبا":            "mrhb", // every script's letters are transliterated
		"Ħal Ŋgo ŧea":      "hal-nggo-tea",
		"Москва Αθήνα":     "moskva-athena",
		"北京":               "bei-jing", // one syllable a letter
		"ﬁne Ǆem":          "fine-dzem",
		"e\u0301te\u0301":  "ete",  // decomposed accents as precomposed ones
		"Ꙁ€½":              "item", // no spelling: a separator; € a symbol; ½ a number, no ASCII digit
		// From a review: symbols and numbers that are no ASCII digits are
		// other characters (fine print 5), not folded to letters or digits
		// (² to 2, ™ to tm): "Coffee Break ²" is a seeded item's key.
		"Coffee Break ²":   "coffee-break",
		"Movie Night™":     "movie-night",
		"①② ℃ Ⓐ":           "item",
		"１２３ Tea":          "tea",
		"١٢٣":              "item",        // digits of other scripts are not letters
		"हिन्दी":           "hindii",      // vowel signs (spacing marks) stay with their letters
		"Объект Семья":     "obekt-semia", // a soft or hard sign's apostrophe is dropped
		"aꙀb":              "a-b",
		"Zoë's \"quoted\"": "zoe-s-quoted",
	}
	for in, want := range tests {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSlugIsAKey: whatever the name, a slug is non-empty lower-case ASCII
// letters and digits in runs joined by single "-", and the same each time
// (every code point of the first planes between two letters, and runs of
// them).
func TestSlugIsAKey(t *testing.T) {
	key := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	for r := rune(1); r < 0x30000; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue // surrogates are no runes of a string
		}
		for _, name := range []string{"a" + string(r) + "b", string(r), strings.Repeat(string(r), 3) + " x"} {
			got := Slug(name)
			if !key.MatchString(got) || Slug(name) != got {
				t.Fatalf("Slug(%q) = %q: not a key, or not the same twice", name, got)
			}
		}
	}
}

func TestMarketKeys(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2025, 1, 1, 0, 0, s, 0, time.UTC) }
	items := []MarketItem{
		{ID: "c", Name: "CAFE--CRÈME!", CreatedAt: at(3)},
		{ID: "a", Name: "Café Crème", CreatedAt: at(1)},
		{ID: "b", Name: "cafe creme", CreatedAt: at(1)}, // same time: id breaks the tie
		{ID: "d", Name: "Cafe Creme 2", CreatedAt: at(0)},
		{ID: "e", Name: "Tea", CreatedAt: at(5)},
	}
	want := map[string]string{"a": "cafe-creme", "b": "cafe-creme-3", "c": "cafe-creme-4", "d": "cafe-creme-2", "e": "tea"}
	if d := cmp.Diff(want, MarketKeys(items)); d != "" {
		t.Errorf("MarketKeys (-want +got):\n%s", d)
	}
	// The result does not depend on the input order.
	rev := []MarketItem{items[4], items[3], items[2], items[1], items[0]}
	if d := cmp.Diff(want, MarketKeys(rev)); d != "" {
		t.Errorf("MarketKeys depends on input order:\n%s", d)
	}
	// A created_at of -infinity comes before every time, infinity after;
	// two infinite ones of a sign by id.
	inf := []MarketItem{
		{ID: "p", Name: "Tea", Infinite: 1},
		{ID: "q", Name: "Tea", CreatedAt: at(9)},
		{ID: "r", Name: "Tea", Infinite: -1},
		{ID: "s", Name: "Tea", Infinite: 1, CreatedAt: at(0)}, // CreatedAt unused
		{ID: "o", Name: "Tea", Infinite: -1, CreatedAt: at(99)},
	}
	wantInf := map[string]string{"o": "tea", "r": "tea-2", "q": "tea-3", "p": "tea-4", "s": "tea-5"}
	if d := cmp.Diff(wantInf, MarketKeys(inf)); d != "" {
		t.Errorf("MarketKeys with infinite created_at (-want +got):\n%s", d)
	}
}

func TestDerivedID(t *testing.T) {
	a, b := DerivedID("user_rewards", "k1"), DerivedID("user_rewards", "k1")
	if a != b {
		t.Fatal("DerivedID is not deterministic")
	}
	if a == DerivedID("user_rewards", "k2") || a == DerivedID("quests", "k1") {
		t.Fatal("DerivedID collides across keys or tables")
	}
	if a.Version() != 8 || a.Variant() != uuid.RFC4122 {
		t.Fatalf("DerivedID = %s: version %d variant %v, want 8 RFC4122", a, a.Version(), a.Variant())
	}
	if !strings.Contains(DerivedIDSQL("t", "s.id::text"), "sha256(") {
		t.Fatal("DerivedIDSQL does not hash with sha256")
	}
}

func sp(s string) *string { return &s }

func TestCoerceQuest(t *testing.T) {
	user := "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
	base := func() QuestText {
		return QuestText{ID: sp("q_1042"), UserID: sp(user), Title: sp("Run"), Category: sp("fitness")}
	}
	utc := func(y int, mo time.Month, d, h, mi, s int) *time.Time {
		t := time.Date(y, mo, d, h, mi, s, 0, time.UTC)
		return &t
	}
	tests := []struct {
		name   string
		edit   func(*QuestText)
		check  func(t *testing.T, q Quest)
		badCol string
	}{
		{name: "defaults", edit: func(*QuestText) {}, check: func(t *testing.T, q Quest) {
			if q.IDIsUUID || q.ID != DerivedID("quests", "q_1042") {
				t.Errorf("non-UUID id: got %s (uuid=%v)", q.ID, q.IDIsUUID)
			}
			if q.Difficulty != "starter" || q.Status != "available" || q.XPReward != 10 || q.CoinReward != 5 || !q.IsActive || q.IsUniversal || q.IsRepeatable {
				t.Errorf("defaults not applied: %+v", q)
			}
			if !q.CreatedAt.Equal(time.Unix(0, 0)) || !q.UpdatedAt.Equal(q.CreatedAt) {
				t.Errorf("timestamps: %v %v", q.CreatedAt, q.UpdatedAt)
			}
		}},
		{name: "uuid id any case", edit: func(r *QuestText) { r.ID = sp("3F1E2D4C-5B6A-4978-8A9B-0C1D2E3F4A5B") }, check: func(t *testing.T, q Quest) {
			if !q.IDIsUUID || q.ID.String() != user {
				t.Errorf("got %s uuid=%v", q.ID, q.IDIsUUID)
			}
		}},
		{name: "universal when user empty", edit: func(r *QuestText) { r.UserID = sp("") }, check: func(t *testing.T, q Quest) {
			if q.UserID != nil || !q.IsUniversal {
				t.Errorf("got user %v universal %v", q.UserID, q.IsUniversal)
			}
		}},
		{name: "timestamp forms", edit: func(r *QuestText) {
			r.AcceptedAt, r.CompletedAt, r.ExpiresAt = sp("2025-03-04T10:15:00Z"), sp("2025-03-04 10:15:00"), sp("1741083300")
			r.CreatedAt, r.UpdatedAt = sp("2025-03-04T12:15:00+02:00"), sp("")
		}, check: func(t *testing.T, q Quest) {
			want := utc(2025, 3, 4, 10, 15, 0)
			for _, got := range []*time.Time{q.AcceptedAt, q.CompletedAt, q.ExpiresAt, &q.CreatedAt, &q.UpdatedAt} {
				if got == nil || !got.Equal(*want) {
					t.Errorf("got %v, want %v", got, want)
				}
			}
		}},
		{name: "finer than a microsecond", edit: func(r *QuestText) {
			r.CreatedAt, r.UpdatedAt = sp("2025-03-04T10:15:00.1234567Z"), sp("2025-03-04T10:15:00.1234564Z")
		}, check: func(t *testing.T, q Quest) {
			up, down := time.Date(2025, 3, 4, 10, 15, 0, 123457000, time.UTC), time.Date(2025, 3, 4, 10, 15, 0, 123456000, time.UTC)
			if !q.CreatedAt.Equal(up) || !q.UpdatedAt.Equal(down) {
				t.Errorf("got %v and %v, want %v and %v: rounded to the microsecond, as PostgreSQL reads them", q.CreatedAt, q.UpdatedAt, up, down)
			}
		}},
		{name: "half a microsecond, to even as PostgreSQL rounds", edit: func(r *QuestText) {
			r.CreatedAt, r.UpdatedAt, r.AcceptedAt = sp("2025-03-04T10:15:00.0000005Z"), sp("2025-03-04T10:15:00.0000025+01:00"), sp("2025-03-04T10:15:59.9999995Z")
		}, check: func(t *testing.T, q Quest) {
			// '…00.0000005'::timestamptz is …00, '…00.0000025' …00.000002
			// and '…59.9999995' the next minute, on PostgreSQL 15.
			want := []time.Time{time.Date(2025, 3, 4, 10, 15, 0, 0, time.UTC), time.Date(2025, 3, 4, 9, 15, 0, 2000, time.UTC), time.Date(2025, 3, 4, 10, 16, 0, 0, time.UTC)}
			for i, got := range []time.Time{q.CreatedAt, q.UpdatedAt, *q.AcceptedAt} {
				if !got.Equal(want[i]) {
					t.Errorf("got %v, want %v", got, want[i])
				}
			}
		}},
		{name: "offsets to ±15:59", edit: func(r *QuestText) {
			r.CreatedAt, r.UpdatedAt = sp("2025-03-04T10:15:00+15:59"), sp("2025-03-04T10:15:00-15:59")
		}, check: func(t *testing.T, q Quest) {
			if want := time.Date(2025, 3, 3, 18, 16, 0, 0, time.UTC); !q.CreatedAt.Equal(want) {
				t.Errorf("got %v, want %v", q.CreatedAt, want)
			}
		}},
		{name: "offset of 24 hours refused", edit: func(r *QuestText) { r.CreatedAt = sp("2025-03-04T10:15:00+24:00") }, badCol: "created_at"},
		{name: "offset of 16 hours refused", edit: func(r *QuestText) { r.ExpiresAt = sp("2025-03-04T10:15:00-16:00") }, badCol: "expires_at"},
		{name: "offset minutes beyond 59 refused", edit: func(r *QuestText) { r.ExpiresAt = sp("2025-03-04T10:15:00+01:60") }, badCol: "expires_at"},
		{name: "year 0 refused", edit: func(r *QuestText) { r.CreatedAt = sp("0000-01-01T00:00:00Z") }, badCol: "created_at"},
		{name: "year 0 in UTC refused", edit: func(r *QuestText) { r.UpdatedAt = sp("0001-01-01T00:30:00+01:00") }, badCol: "updated_at"},
		{name: "year 10000 in UTC refused", edit: func(r *QuestText) { r.CompletedAt = sp("9999-12-31T23:30:00-01:00") }, badCol: "completed_at"},
		{name: "first and last moments", edit: func(r *QuestText) {
			r.CreatedAt, r.UpdatedAt = sp("0001-01-01 00:00:00"), sp("9999-12-31T23:59:59.999999Z")
		}, check: func(t *testing.T, q Quest) {
			if q.CreatedAt.Year() != 1 || q.UpdatedAt.Year() != 9999 {
				t.Errorf("got %v and %v", q.CreatedAt, q.UpdatedAt)
			}
		}},
		{name: "difficulty with a non-ASCII capital refused", edit: func(r *QuestText) { r.Difficulty = sp("MEDİUM") }, badCol: "difficulty"},
		{name: "difficulty padded with other space refused", edit: func(r *QuestText) { r.Difficulty = sp("\u00a0medium") }, badCol: "difficulty"},
		{name: "difficulty padded any case", edit: func(r *QuestText) { r.Difficulty = sp("  HaRd ") }, check: func(t *testing.T, q Quest) {
			if q.Difficulty != "hard" {
				t.Errorf("got %q", q.Difficulty)
			}
		}},
		{name: "booleans and rewards", edit: func(r *QuestText) {
			r.IsActive, r.IsRepeatable, r.IsUniversal, r.XPReward, r.CoinReward = sp("0"), sp("true"), sp("false"), sp("-5"), sp("2147483647")
		}, check: func(t *testing.T, q Quest) {
			if q.IsActive || !q.IsRepeatable || q.IsUniversal || q.XPReward != -5 || q.CoinReward != 2147483647 {
				t.Errorf("got %+v", q)
			}
		}},
		{name: "bad status", edit: func(r *QuestText) { r.Status = sp("done") }, badCol: "status"},
		{name: "bad boolean", edit: func(r *QuestText) { r.IsActive = sp("yes") }, badCol: "is_active"},
		{name: "lenient date refused", edit: func(r *QuestText) { r.ExpiresAt = sp("31/12/2025") }, badCol: "expires_at"},
		{name: "fractional epoch refused", edit: func(r *QuestText) { r.CreatedAt = sp("1741083300.5") }, badCol: "created_at"},
		{name: "reward not an integer", edit: func(r *QuestText) { r.XPReward = sp("10.5") }, badCol: "xp_reward"},
		{name: "reward out of int4", edit: func(r *QuestText) { r.CoinReward = sp("2147483648") }, badCol: "coin_reward"},
		{name: "user not a uuid", edit: func(r *QuestText) { r.UserID = sp("user-7") }, badCol: "user_id"},
		{name: "missing title", edit: func(r *QuestText) { r.Title = nil }, badCol: "title"},
		{name: "bad difficulty", edit: func(r *QuestText) { r.Difficulty = sp("legendary") }, badCol: "difficulty"},
		{name: "bad frequency", edit: func(r *QuestText) { r.RepeatFrequency = sp("hourly") }, badCol: "repeat_frequency"},
		{name: "first failing column wins", edit: func(r *QuestText) { r.Status = sp("x"); r.XPReward = sp("y") }, badCol: "xp_reward"},
		// From a review: a quest of no user ('' or NULL user_id: a
		// universal quest) that says it is not universal loaded as a quest
		// of nobody.
		{name: "no user, not universal", edit: func(r *QuestText) { r.UserID, r.IsUniversal = sp(""), sp("0") }, badCol: "is_universal"},
		{name: "no user, universal", edit: func(r *QuestText) { r.UserID, r.IsUniversal = nil, sp("true") }, check: func(t *testing.T, q Quest) {
			if q.UserID != nil || !q.IsUniversal {
				t.Errorf("got user %v universal %v", q.UserID, q.IsUniversal)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.edit(&in)
			q, bad := CoerceQuest(in)
			if tt.badCol != "" {
				if bad == nil || bad.Column != tt.badCol {
					t.Fatalf("want invalid %s, got %v", tt.badCol, bad)
				}
				if !strings.Contains(bad.Error(), tt.badCol) {
					t.Errorf("message %q does not name the column", bad.Error())
				}
				return
			}
			if bad != nil {
				t.Fatalf("unexpected invalid value: %v", bad)
			}
			tt.check(t, q)
		})
	}
}

// TestCoerceQuestNamesTheFirstFailingColumn: with two columns outside
// their forms, the reason names the first in the legacy table's order
// (MAPPING.md fine print 8), for every pair.
func TestCoerceQuestNamesTheFirstFailingColumn(t *testing.T) {
	// In the order of the columns of the legacy table quests.
	bad := []struct {
		col string
		set func(*QuestText)
	}{
		{"user_id", func(r *QuestText) { r.UserID = sp("not-a-uuid") }},
		{"title", func(r *QuestText) { r.Title = sp("") }},
		{"category", func(r *QuestText) { r.Category = sp("") }},
		{"difficulty", func(r *QuestText) { r.Difficulty = sp("impossible") }},
		{"xp_reward", func(r *QuestText) { r.XPReward = sp("12.5") }},
		{"coin_reward", func(r *QuestText) { r.CoinReward = sp("x") }},
		{"is_universal", func(r *QuestText) { r.IsUniversal = sp("yes") }},
		{"is_active", func(r *QuestText) { r.IsActive = sp("yes") }},
		{"is_repeatable", func(r *QuestText) { r.IsRepeatable = sp("maybe") }},
		{"status", func(r *QuestText) { r.Status = sp("bogus") }},
		{"accepted_at", func(r *QuestText) { r.AcceptedAt = sp("31/12/2025") }},
		{"completed_at", func(r *QuestText) { r.CompletedAt = sp("31/12/2025") }},
		{"expires_at", func(r *QuestText) { r.ExpiresAt = sp("31/12/2025") }},
		{"created_at", func(r *QuestText) { r.CreatedAt = sp("garbage") }},
		{"updated_at", func(r *QuestText) { r.UpdatedAt = sp("garbage") }},
		{"repeat_frequency", func(r *QuestText) { r.RepeatFrequency = sp("hourly") }},
	}
	for i, a := range bad {
		for _, b := range bad[i:] {
			r := QuestText{ID: sp("q_1"), UserID: sp("3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"), Title: sp("Run"), Category: sp("fitness")}
			a.set(&r)
			b.set(&r)
			if _, err := CoerceQuest(r); err == nil || err.Column != a.col {
				t.Errorf("%s and %s outside their forms: %v, want %s named", a.col, b.col, err, a.col)
			}
		}
	}
}

// TestCoerceQuestCreationFallback: a quest without created_at takes its
// updated_at, else accepted_at, else completed_at, else the Unix epoch,
// so that every run writes the same row; updated_at falls back to
// created_at.
func TestCoerceQuestCreationFallback(t *testing.T) {
	const upd, acc, comp = "2025-03-04T10:00:00Z", "2025-03-05T10:00:00Z", "2025-03-06T10:00:00Z"
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, c := range []struct {
		name                  string
		updated, accepted, cp *string
		want                  time.Time
	}{
		{"updated_at", sp(upd), sp(acc), sp(comp), at(upd)},
		{"accepted_at", sp(""), sp(acc), sp(comp), at(acc)},
		{"completed_at", nil, nil, sp(comp), at(comp)},
		{"the epoch", nil, sp(""), nil, time.Unix(0, 0)},
	} {
		r := QuestText{ID: sp("q_1"), Title: sp("Run"), Category: sp("fitness"), CreatedAt: sp(""), UpdatedAt: c.updated, AcceptedAt: c.accepted, CompletedAt: c.cp}
		q, err := CoerceQuest(r)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		wantUpdated := c.want
		if c.updated != nil && *c.updated != "" {
			wantUpdated = at(*c.updated)
		}
		if !q.CreatedAt.Equal(c.want) || !q.UpdatedAt.Equal(wantUpdated) {
			t.Errorf("%s: created %v, updated %v; want %v and %v", c.name, q.CreatedAt, q.UpdatedAt, c.want, wantUpdated)
		}
	}
}
