// Package secret tells which values no output of cutover may show:
// credentials by the name of the column (or JSON key) that holds them.
// Reports, findings and error messages ask it before they print a value.
package secret

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// name matches names that hold credentials: passwords, tokens, keys,
// secrets, and the headers and cookies that carry them. It is matched
// anywhere in a name (refresh_token, userPassword, X-Api-Key).
var name = regexp.MustCompile(`(?i)(password|passwd|pwd|secret|token|credential_public_key|session_state|private.?key|api.?key|access.?key|authorization|bearer|cookie)`)

// Column reports whether a column (or a JSON key) named n holds a secret:
// sessions.token, accounts.access_token, refresh_token, id_token,
// session_state, authenticators.credential_public_key, and anything named
// like a password, token, key, secret or authorization.
func Column(n string) bool { return name.MatchString(n) }

// Mentioned reports whether text mentions a secret's name anywhere (a
// JSON document with a "password" key, a query string with a token): a
// value that cannot be scrubbed piece by piece is then not shown at all.
func Mentioned(text []byte) bool { return name.Match(text) }

// Redacted replaces a secret value.
const Redacted = "[redacted]"

// ScrubJSON returns text, a JSON document, with the value of every object
// key that names a secret (Column) replaced by Redacted, at any depth, and
// whether it replaced any. Text that is not one JSON document, or holds
// no such key, is returned as it is. A scrubbed document is written again
// with its objects' keys sorted (numbers as they were written).
func ScrubJSON(text string) (string, bool) {
	if !Mentioned([]byte(text)) {
		return text, false
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return text, false
	}
	if !Scrub(v) {
		return text, false
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Redacted, true
	}
	return string(bytes.TrimSuffix(out.Bytes(), []byte("\n"))), true
}

// Scrub replaces, in place, the value of every object key that names a
// secret (Column) in v, a decoded JSON value (maps and slices of any
// depth), by Redacted, and reports whether it replaced any.
func Scrub(v any) bool {
	found := false
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if Column(k) {
				x[k], found = Redacted, true
			} else if Scrub(e) {
				found = true
			}
		}
	case []any:
		for _, e := range x {
			if Scrub(e) {
				found = true
			}
		}
	}
	return found
}
