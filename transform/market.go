package transform

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosimple/unidecode"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Slug returns the market-item key of a name (MAPPING.md fine print 5):
// lower-case; non-ASCII letters transliterated to ASCII (Café Crème →
// cafe-creme, Straße → strasse, Москва → moskva, 北京 → bei-jing); every
// run of other characters (punctuation, symbols, emoji, marks, digits of
// other scripts) one "-"; trimmed of "-". A name with nothing left becomes
// "item".
//
// Marks are stripped after a compatibility decomposition first (NFKD), so
// that a letter and its accent, precomposed or not, give the same slug and
// full-width or styled letters fold to their ASCII ones. A letter that is
// still not ASCII is transliterated on its own by unidecode's table (a
// letter it has no spelling for separates, as a symbol does); only its
// ASCII letters and digits are kept, so "Ǆ" gives "dz" and a syllable's
// trailing space ("Bei ") separates it from the next.
func Slug(name string) string {
	stripMarks := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(stripMarks, name)
	if err != nil {
		folded = name
	}
	var out strings.Builder
	dash := false
	keep := func(s string) {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
				if dash && out.Len() > 0 {
					out.WriteByte('-')
				}
				dash = false
				out.WriteByte(c)
			} else {
				dash = true
			}
		}
	}
	for _, r := range folded {
		switch {
		case r < utf8.RuneSelf:
			keep(string(r))
		case unicode.IsLetter(r):
			if ascii := unidecode.Unidecode(string(r)); ascii != "" {
				keep(ascii)
			} else {
				dash = true
			}
		default:
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
