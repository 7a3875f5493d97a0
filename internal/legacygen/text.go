package legacygen

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var words = strings.Fields(`
the a of and to in for on with at by from up about into over after before under again
focus deep work session morning evening night plan review habit streak goal read book chapter
page note idea draft write music mix track bass kick snare vocal synth loop chord melody rhythm
tempo practice lesson drill quiz learn skill level coin reward quest daily weekly monthly run walk
lift squat bench press row deadlift stretch yoga rest recover sleep water tea coffee journal
meditate breathe clean inbox email call meeting project sprint release bug fix feature design
sketch paint garden cook bake meal prep budget save invest family friend walk dog call mom
library playlist ambient rain forest ocean cafe noise timer pomodoro break long short quick slow
first second third last next new old better best small big tiny huge simple hard easy clear calm
`)

// exotic are fragments that stress encodings: emoji (with ZWJ sequences,
// skin tones, flags, variation selectors), combining characters (decomposed
// accents, stacked marks), right-to-left scripts, CJK, bidi controls, quotes,
// backslashes, COPY's NULL marker \N, and CRLF line ends.
var exotic = []string{
	"🔥", "📚", "💪🏽", "👩‍💻", "🏳️‍🌈", "🇩🇪", "❤️", "🧘‍♀️", "🎧", "✅", "👨‍👩‍👧‍👦",
	"Cafe\u0301 cre\u0300me", "n\u0303o", "A\u030a", "Z\u0335\u0321a\u0337l\u0338g\u0336o\u0334",
	"مرحبا بالعالم", "שלום עולם", "قراءة ٣٠ دقيقة", "תרגול בוקר",
	"今日は集中する", "阅读计划", "운동하기", "Привет, мир", "नमस्ते", "Καλημέρα", "ภาษาไทย",
	"Grüße aus München", "crème brûlée à la carte", "mañana", "smørrebrød", "Łódź", "İstanbul",
	"\u200Fright-to-left mark", "\u202Eevil override\u202C", "zero\u200Bwidth", "tab\tseparated",
	`"quoted"`, "it's", `back\slash`, `\N`, "line one\r\nline two", "<b>html</b> & co",
}

var firstNames = []string{
	"Ann", "Ben", "Chloé", "David", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jürgen", "Keiko", "Lucía",
	"Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rania", "Søren", "Tomás", "Uma", "Valentina", "Wei",
	"Xochitl", "Yusuf", "Zoë", "Noa", "Amir", "Sakura", "Olu",
}

var lastNames = []string{
	"Smith", "Müller", "García", "Rossi", "Nguyen", "Kowalski", "Öztürk", "Tanaka", "Kim", "Cohen",
	"Haddad", "Okafor", "Johansson", "Dubois", "Silva", "Novak", "Patel", "O'Brien", "van der Berg", "Ivanova",
}

var emailDomains = []string{"example.com", "mail.example.org", "x.io", "inbox.test", "uni.example.edu"}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func (r rnd) words(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

// sentence is 4–14 words, sometimes with an exotic fragment.
func (r rnd) sentence() string {
	s := capitalize(r.words(r.n(4, 14)))
	if r.p(0.12) {
		s += " " + pick(r, exotic)
	}
	return s + "."
}

// title is 1–5 words, sometimes with an emoji or another script.
func (r rnd) title() string {
	s := capitalize(r.words(r.n(1, 5)))
	switch x := r.Float64(); {
	case x < 0.06:
		s = pick(r, exotic) + " " + s
	case x < 0.12:
		s += " " + pick(r, exotic)
	}
	return s
}

func (r rnd) paragraph() string {
	n := r.n(2, 6)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = r.sentence()
	}
	return strings.Join(parts, " ")
}

// text returns NULL, ” or a paragraph.
func (r rnd) text(pNull float64) any {
	switch x := r.Float64(); {
	case x < pNull:
		return nil
	case x < pNull+0.03:
		return ""
	}
	return r.paragraph()
}

// bigText is markdown of at least size bytes.
func (r rnd) bigText(size int) string {
	var b strings.Builder
	b.Grow(size + 512)
	for i := 1; b.Len() < size; i++ {
		b.WriteString("## Section ")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(" ")
		b.WriteString(pick(r, exotic))
		b.WriteString("\n\n")
		for j := 0; j < 8; j++ {
			b.WriteString(r.paragraph())
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

func (r rnd) name() string { return pick(r, firstNames) + " " + pick(r, lastNames) }

// js renders v as JSON for a jsonb column.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonTags is a jsonb array of 0–4 tags, or NULL.
func (r rnd) jsonTags(pNull float64) any {
	if r.p(pNull) {
		return nil
	}
	return js(r.tagList())
}

func (r rnd) tagList() []string {
	tags := make([]string, r.n(0, 4))
	for i := range tags {
		if r.p(0.1) {
			tags[i] = pick(r, exotic)
		} else {
			tags[i] = words[r.IntN(len(words))]
		}
	}
	return tags
}

// textArray is a text[] value: NULL, '{}', or tags (rarely with a NULL element).
func (r rnd) textArray(pNull float64) any {
	switch x := r.Float64(); {
	case x < pNull:
		return nil
	case x < pNull+0.1:
		return []string{}
	case x < pNull+0.12:
		a := "x"
		return []*string{&a, nil}
	}
	return r.tagList()
}

// slug is MAPPING.md fine print 5 for ASCII input (used for catalog keys).
// It is written apart from transform.Slug on purpose: the manifest's
// expected keys are the generator's own reading of the rule, which the
// run's keys are checked against.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		} else {
			dash = true
		}
	}
	return b.String()
}
