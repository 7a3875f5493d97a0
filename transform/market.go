package transform

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// specialLetters are letters that do not decompose into ASCII plus marks.
var specialLetters = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i",
}

// Slug returns the market-item key of a name (MAPPING.md fine print 5):
// lower-case; non-ASCII letters transliterated to ASCII (Café Crème →
// cafe-creme); every run of other characters one "-"; trimmed of "-".
// A name with nothing left becomes "item".
func Slug(name string) string {
	var b strings.Builder
	for _, r := range name {
		if s, ok := specialLetters[r]; ok {
			b.WriteString(s)
		} else {
			b.WriteRune(r)
		}
	}
	stripMarks := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	ascii, _, err := transform.String(stripMarks, b.String())
	if err != nil {
		ascii = b.String()
	}
	var out strings.Builder
	dash := false
	for _, r := range strings.ToLower(ascii) {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && out.Len() > 0 {
				out.WriteByte('-')
			}
			dash = false
			out.WriteRune(r)
		} else {
			dash = true
		}
	}
	if out.Len() == 0 {
		return "item"
	}
	return out.String()
}

// MarketItem is what key assignment needs of a v21 market item.
type MarketItem struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// Infinite is -1 for a created_at of -infinity and 1 for infinity
	// (CreatedAt then unused), 0 for any other: PostgreSQL orders them
	// before and after every time, and a time.Time holds neither.
	Infinite int
}

// before reports whether a comes before b by (created_at, id).
func (a MarketItem) before(b MarketItem) bool {
	if a.Infinite != b.Infinite {
		return a.Infinite < b.Infinite
	}
	if a.Infinite == 0 && !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// MarketKeys assigns every item its key: its Slug, de-collided among the
// items by (created_at, id) — the first keeps the bare slug, the next get
// "-2", "-3", … (skipping keys another item already holds). The result maps
// id to key and does not depend on the order of items.
func MarketKeys(items []MarketItem) map[string]string {
	sorted := append([]MarketItem(nil), items...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].before(sorted[j]) })
	used := map[string]bool{}
	// Bare slugs are reserved first, so that "tea-2" as a name keeps its key.
	slugs := make([]string, len(sorted))
	for i, it := range sorted {
		slugs[i] = Slug(it.Name)
	}
	out := make(map[string]string, len(items))
	taken := map[string]bool{}
	for i, it := range sorted {
		s := slugs[i]
		if !taken[s] {
			taken[s] = true
			used[s] = true
			out[it.ID] = s
		}
	}
	for i, it := range sorted {
		if _, ok := out[it.ID]; ok {
			continue
		}
		for n := 2; ; n++ {
			k := slugs[i] + "-" + strconv.Itoa(n)
			if !used[k] {
				used[k] = true
				out[it.ID] = k
				break
			}
		}
	}
	return out
}
