package extract

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestNotUTF8Error: the refusal is kept whole; the values found are named
// by table, column and key, their bytes shown with what is not printable
// ASCII in hex; the statement that converts the first value is given only
// for a SQL_ASCII source, keyed by id or by ctid as the value was found.
func TestNotUTF8Error(t *testing.T) {
	refused := &pgconn.PgError{Code: "22021", Message: `invalid byte sequence for encoding "UTF8": 0xe9 0x20`}
	for _, c := range []struct {
		name    string
		err     *NotUTF8Error
		want    []string
		notWant []string
	}{
		{"none found", &NotUTF8Error{Table: "users", SourceEncoding: "SQL_ASCII", Err: refused},
			[]string{"(SQLSTATE 22021)"}, []string{"not UTF-8, which", "UPDATE"}},
		{"by id", &NotUTF8Error{Table: "users", SourceEncoding: "SQL_ASCII", Err: refused, Count: 7,
			Found: []NotUTF8{{Column: "name", KeyColumn: "id", Key: "4b1d", Bytes: []byte("Caf\xe9 \"x\"")}, {Column: "bio", KeyColumn: "id", Key: "77aa", Bytes: []byte{0xfc}}}},
			[]string{`7 values of the source are not UTF-8`, `users.name of row id "4b1d" ("Caf\xe9 \x22x\x22")`, `users.bio of row id "77aa" ("\xfc")`, "and 5 more",
				`UPDATE public."users" SET "name" = convert_from(convert(textsend("name"), 'LATIN1', 'UTF8'), 'SQL_ASCII') WHERE id = '4b1d'`}, nil},
		{"by ctid", &NotUTF8Error{Table: "user_roles", SourceEncoding: "SQL_ASCII", Err: refused, Count: 1,
			Found: []NotUTF8{{Column: "note", KeyColumn: "ctid", Key: "(0,3)", Bytes: []byte{0xe9}}}},
			[]string{`1 value of the source is not UTF-8`, `user_roles.note of row ctid "(0,3)"`, `WHERE ctid = '(0,3)'`}, []string{"more"}},
		{"a secret column", &NotUTF8Error{Table: "accounts", SourceEncoding: "SQL_ASCII", Err: refused, Count: 2,
			Found: []NotUTF8{{Column: "access_token", KeyColumn: "id", Key: "4b1d", Bytes: []byte("SECRETMARK\xe9x")},
				{Column: "provider", KeyColumn: "id", Key: "77aa", Bytes: []byte("{\"password\": \"SECRETMARK\xe9\"}")}}},
			[]string{`accounts.access_token of row id "4b1d" (12 bytes, not shown: it may hold a secret; byte 11 is 0xe9)`,
				`accounts.provider of row id "77aa" (27 bytes, not shown: it may hold a secret; byte 25 is 0xe9)`, `WHERE id = '4b1d'`},
			[]string{"SECRETMARK"}},
		{"not SQL_ASCII", &NotUTF8Error{Table: "users", SourceEncoding: "UTF8", Err: refused, Count: 1,
			Found: []NotUTF8{{Column: "name", KeyColumn: "id", Key: "4b1d", Bytes: []byte{0xe9}}}},
			[]string{"convert them to UTF-8 on the source, then run again)"}, []string{"UPDATE", "SQL_ASCII"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.err.Error()
			if !errors.Is(c.err, refused) || !strings.HasPrefix(got, refused.Error()) {
				t.Errorf("%q does not keep the refusal %q", got, refused)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("%q says %q", got, w)
				}
			}
		})
	}
}

// TestServerWritten: the types whose text the server writes (and so is
// ASCII) are not read for bytes that are not UTF-8; every other is.
func TestServerWritten(t *testing.T) {
	for typ, want := range map[string]bool{
		"uuid": true, "timestamp with time zone": true, "integer": true, "numeric(3,2)": true, "boolean": true,
		"date": true, "inet": true, "bytea": true, "uuid[]": true, "real": true,
		"text": false, "character varying(255)": false, "jsonb": false, "text[]": false, "character(2)": false,
	} {
		if got := serverWritten(typ); got != want {
			t.Errorf("serverWritten(%q) = %t, want %t", typ, got, want)
		}
	}
}
