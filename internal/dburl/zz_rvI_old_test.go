package dburl

import (
	"strings"
	"testing"
)

func oldSplit(rest string) (user, password string, hasPassword bool, host, query string, hasQuery bool) {
	before := func(sep byte) int {
		end := strings.IndexByte(rest, sep)
		if end < 0 {
			end = len(rest)
		}
		return strings.LastIndexByte(rest[:end], '@')
	}
	host = rest
	if at := max(before('/'), before('?')); at >= 0 {
		user, password, hasPassword = strings.Cut(rest[:at], ":")
		host = rest[at+1:]
	}
	host, query, hasQuery = strings.Cut(host, "?")
	return
}

func TestZZRvIOld(t *testing.T) {
	for _, u := range []string{"h?host=/tmp&password=p@ssw0rdX", "h?password=s3cr3tX&application_name=a/b@c", "h?host=/tmp&application_name=a@b&password=s3cr3tX&port=x", "h:5432/my@db"} {
		_, _, hp, h, q, hq := oldSplit(u)
		_, _, hp2, h2, q2, hq2 := splitURL(u)
		t.Logf("%s\n old: pw=%v host=%q query=%q(%v)\n new: pw=%v host=%q query=%q(%v)", u, hp, h, q, hq, hp2, h2, q2, hq2)
	}
}
