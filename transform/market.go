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
// cafe-creme, Straße → strasse, Москва → moskva, हिन्दी → hindii, 北京 →
// bei-jing); every run of other characters (punctuation, symbols, emoji,
// digits of other scripts) one "-"; trimmed of "-". A name with nothing
// left becomes "item".
//
// Accents are stripped after a canonical decomposition (NFD), so that a
// letter and its accent, precomposed or not, give the same slug. Only a
// run of letters (and the marks within it) is folded further: by its
// compatibility decomposition (NFKD: full-width or styled letters, and
// ligatures, to their plain ones), then, where still not ASCII,
// transliterated whole by unidecode's tables, so that a vowel sign stays
// with its consonant; of what that gives, ASCII letters and digits are
// kept, a space separates (a syllable of CJK ends in one: "Bei Jing "),
// and the rest (the apostrophe of a Cyrillic soft sign) is dropped. A run
// unidecode has no spelling for separates, as a symbol does. A symbol or
// a number that is no ASCII digit ("²", "™", "½", "①", full-width
// digits) is one of the other characters, not folded to letters or
// digits: "Coffee Break ²" is coffee-break, as "Coffee Break" is.
func Slug(name string) string {
	folded, _, err := transform.String(transform.Chain(norm.NFD, stripMarks, norm.NFC), name)
	if err != nil {
		folded = name
	}
	var out strings.Builder
	dash := false
	keep := func(c byte) {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if dash && out.Len() > 0 {
			out.WriteByte('-')
		}
		dash = false
		out.WriteByte(c)
	}
	alnum := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' }
	letterOrMark := func(r rune) bool { return r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsMark(r)) }
	for i := 0; i < len(folded); {
		r, n := utf8.DecodeRuneInString(folded[i:])
		switch {
		case r < utf8.RuneSelf && alnum(byte(r)):
			keep(byte(r))
		case letterOrMark(r):
			for n < len(folded)-i {
				next, m := utf8.DecodeRuneInString(folded[i+n:])
				if !letterOrMark(next) {
					break
				}
				n += m
			}
			letters, _, err := transform.String(transform.Chain(norm.NFKD, stripMarks, norm.NFC), folded[i:i+n])
			if err != nil {
				letters = folded[i : i+n]
			}
			ascii := unidecode.Unidecode(letters)
			if !strings.ContainsFunc(ascii, func(r rune) bool { return r < utf8.RuneSelf && alnum(byte(r)) }) {
				dash = true
				break
			}
			for j := 0; j < len(ascii); j++ {
				switch c := ascii[j]; {
				case alnum(c):
					keep(c)
				case c == ' ':
					dash = true
				}
			}
		default:
			dash = true
		}
		i += n
	}
	if out.Len() == 0 {
		return "item"
	}
	return out.String()
}

// stripMarks removes the nonspacing marks (accents) of decomposed text.
var stripMarks = runes.Remove(runes.In(unicode.Mn))

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
