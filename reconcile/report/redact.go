package report

import (
	"regexp"
	"strings"

	"github.com/cutover/cutover/reconcile"
)

// diffKey matches a map entry of a go-cmp diff line: the marker column,
// the indentation (go-cmp may use non-breaking spaces), the key and the
// value.
var diffKey = regexp.MustCompile(`^([-+ ]?[\s\x{00a0}]*)"([^"]+)":[\s\x{00a0}]*(.*)$`)

func diffIndent(line string) int {
	if len(line) > 0 && strings.ContainsRune("-+ ", rune(line[0])) {
		line = line[1:]
	}
	n := 0
	for _, r := range line {
		if r != ' ' && r != '\t' && r != '\u00a0' {
			break
		}
		n++
	}
	return n
}

// firstRune returns the first rune of a diff line after the marker column
// and the indentation.
func firstRune(line string) rune {
	if len(line) > 0 && strings.ContainsRune("-+ ", rune(line[0])) {
		line = line[1:]
	}
	for _, r := range strings.TrimLeft(line, " \t\u00a0") {
		return r
	}
	return 0
}

// ScrubDiff replaces the value of every secret column in a go-cmp row diff
// by "[redacted]", including values that span several lines. The engine
// already redacts the columns it knows; this is the report's own guard for
// anything named like a password, secret or token.
func ScrubDiff(diff string) string {
	lines := strings.Split(diff, "\n")
	out := make([]string, 0, len(lines))
	skip := -1
	for _, l := range lines {
		if skip >= 0 {
			in := diffIndent(l)
			if in > skip {
				continue
			}
			closing := in == skip && strings.ContainsRune("})", firstRune(l))
			skip = -1
			if closing {
				continue
			}
		}
		m := diffKey.FindStringSubmatch(l)
		if m != nil && reconcile.SecretColumn(m[2]) {
			out = append(out, m[1]+`"`+m[2]+`": "`+reconcile.Redacted+`",`)
			if v := strings.TrimRight(m[3], " \t\u00a0"); !strings.HasSuffix(v, ",") {
				skip = diffIndent(l)
			}
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
