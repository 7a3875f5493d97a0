package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/internal/secret"
)

// Binary COPY carries text in the bytes the server stores, converting
// nothing, so the target (UTF-8) receives the source's bytes as they are.
// A UTF8 source's are UTF-8. A SQL_ASCII source stores whatever bytes its
// clients wrote, unchecked: a value that is not UTF-8 (LATIN1 text from an
// old client, typically) stops the COPY into the target with SQLSTATE
// 22021, whose message names a byte sequence but no row; FindNotUTF8
// names the values and NotUTF8Error says what to do. A source in any
// other encoding would send every character outside ASCII in bytes that
// mean something else, so Detect refuses it (SourceEncodingError).

// ReadableEncoding reports whether a source database whose server_encoding
// is enc can be copied: UTF8, or SQL_ASCII (whose values are checked as
// they arrive).
func ReadableEncoding(enc string) bool { return enc == "UTF8" || enc == "SQL_ASCII" }

// SourceEncodingError is a source database in an encoding that cutover
// cannot copy (ReadableEncoding).
type SourceEncodingError struct{ Encoding string }

func (e *SourceEncodingError) Error() string {
	return fmt.Sprintf("the source database's encoding is %s, and cutover copies text in the bytes the server stores, which the target reads as UTF-8: "+
		"convert the database to UTF8 first (pg_dump --encoding=UTF8, restored into a database created with ENCODING 'UTF8') and run against that copy (nothing was written)", e.Encoding)
}

// IsNotUTF8 reports whether err is a server's refusal of a value that is
// not valid in its encoding (SQLSTATE 22021, character_not_in_repertoire):
// on the target's side of a copy, a source value that is not UTF-8.
func IsNotUTF8(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "22021"
}

// NotUTF8 is one value of the source that is not UTF-8.
type NotUTF8 struct {
	Column         string
	KeyColumn, Key string // the row's id, or its ctid when the table has no id column
	Bytes          []byte // the value's bytes as the source stores them
}

// FindNotUTF8 reads the rows of batch b of t and returns up to limit of
// its values that are not UTF-8 (in the bytes a SQL_ASCII source stores,
// which it sends unconverted), and how many there are in all. Only
// columns whose text a client could have written freely are read: every
// type but numbers, booleans, uuids, dates and times, network addresses
// and bytea, whose text the server writes itself (serverWritten).
func FindNotUTF8(ctx context.Context, conn *pgx.Conn, t Table, b Batch, limit int) ([]NotUTF8, int, error) {
	key := "ctid"
	var cols []string
	for _, c := range t.Columns {
		if c.Name == "id" {
			key = "id"
		}
		if !serverWritten(c.Type) {
			cols = append(cols, c.Name)
		}
	}
	if len(cols) == 0 {
		return nil, 0, nil
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "textsend(" + pgx.Identifier{c}.Sanitize() + "::text)"
	}
	q := fmt.Sprintf("SELECT %s::text, %s FROM %s WHERE %s ORDER BY %[1]s", key, strings.Join(sel, ", "), pgx.Identifier{"public", t.Name}.Sanitize(), b.Where())
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("look for values of %s that are not UTF-8: %w", t.Name, err)
	}
	defer rows.Close()
	var found []NotUTF8
	n := 0
	var k string
	vals := make([][]byte, len(cols))
	dest := []any{&k}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, fmt.Errorf("look for values of %s that are not UTF-8: %w", t.Name, err)
		}
		for i, v := range vals {
			if v == nil || utf8.Valid(v) {
				continue
			}
			n++
			if len(found) < limit {
				found = append(found, NotUTF8{Column: cols[i], KeyColumn: key, Key: k, Bytes: append([]byte(nil), v...)})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("look for values of %s that are not UTF-8: %w", t.Name, err)
	}
	return found, n, nil
}

// serverWritten reports whether the text of a value of type typ (as
// format_type writes it) is the server's own, and so always ASCII.
func serverWritten(typ string) bool {
	base := strings.TrimSuffix(typ, "[]")
	switch {
	case base == "uuid", base == "boolean", base == "date", base == "bytea", base == "inet", base == "cidr", base == "macaddr",
		base == "smallint", base == "integer", base == "bigint", base == "real", base == "double precision",
		strings.HasPrefix(base, "numeric"), strings.HasPrefix(base, "timestamp"), strings.HasPrefix(base, "time"),
		strings.HasPrefix(base, "interval"):
		return true
	}
	return false
}

// NotUTF8Error is a batch that the target refused for a value that is not
// UTF-8 (IsNotUTF8), explained with the source's values that are not.
type NotUTF8Error struct {
	Table          string
	SourceEncoding string    // the source's server_encoding
	Found          []NotUTF8 // the first of them, in key order
	Count          int       // all of them in the batch (0: not found)
	Err            error     // the server's refusal
}

func (e *NotUTF8Error) Unwrap() error { return e.Err }

func (e *NotUTF8Error) Error() string {
	if e.Count == 0 {
		return e.Err.Error()
	}
	var b strings.Builder
	b.WriteString(e.Err.Error())
	fmt.Fprintf(&b, " (%d %s of the source %s not UTF-8, which the target stores: ", e.Count, prose.Plural(e.Count, "value", "values"), prose.Plural(e.Count, "is", "are"))
	for i, v := range e.Found {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s.%s of row %s %s", e.Table, v.Column, v.KeyColumn, quoteBytes([]byte(v.Key)))
		fmt.Fprintf(&b, " (%s)", shownBytes(v.Column, v.Bytes))
	}
	if e.Count > len(e.Found) {
		fmt.Fprintf(&b, " and %d more", e.Count-len(e.Found))
	}
	b.WriteString("; convert them to UTF-8 on the source, then run again")
	if e.SourceEncoding == "SQL_ASCII" {
		// The text of a SQL_ASCII database is its bytes; convert rewrites them.
		v := e.Found[0]
		col := pgx.Identifier{v.Column}.Sanitize()
		fmt.Fprintf(&b, ". The source's encoding is SQL_ASCII, which stores whatever bytes a client wrote; if these are LATIN1, for example: UPDATE public.%s SET %s = convert_from(convert(textsend(%s), 'LATIN1', 'UTF8'), 'SQL_ASCII') WHERE %s = %s",
			pgx.Identifier{e.Table}.Sanitize(), col, col, v.KeyColumn, quoteLiteral(v.Key))
	}
	b.WriteString(")")
	return b.String()
}

// shownBytes is quoteBytes of the value p of column, unless the column or
// the value names a secret (secret.Column, secret.Mentioned): then only
// its length and where its first byte that is not UTF-8 stands.
func shownBytes(column string, p []byte) string {
	if !secret.Column(column) && !secret.Mentioned(p) {
		return quoteBytes(p)
	}
	at := 0
	for at < len(p) {
		r, n := utf8.DecodeRune(p[at:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		at += n
	}
	if at == len(p) {
		return fmt.Sprintf("%d bytes, not shown: it may hold a secret", len(p))
	}
	return fmt.Sprintf("%d bytes, not shown: it may hold a secret; byte %d is 0x%02x", len(p), at+1, p[at])
}

// quoteBytes writes a value for a message: its printable ASCII as it is
// and every other byte in hex, at most 40 bytes of it.
func quoteBytes(p []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, c := range p {
		if i == 40 {
			b.WriteString("…")
			break
		}
		if c >= 0x20 && c < 0x7f && c != '\\' && c != '"' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
