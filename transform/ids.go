package transform

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
)

// IDNamespace is the namespace of every id the cutover derives.
var IDNamespace = uuid.MustParse("6b1f3c2e-9a4d-5e8f-b0c1-2d3e4f5a6b7c")

// DerivedID returns the deterministic id of a target row made from the
// legacy row (table, key): a name-based UUID (version 8, SHA-256 of the
// namespace and "table:key"), so every re-run derives the same id.
func DerivedID(table, key string) uuid.UUID {
	return uuid.NewHash(sha256.New(), IDNamespace, []byte(table+":"+key), 8)
}

// DerivedIDSQL returns a SQL expression computing DerivedID(table, keyExpr)
// on the server, with PostgreSQL's built-in sha256 (no extension needed).
// keyExpr is a SQL text expression.
func DerivedIDSQL(table, keyExpr string) string {
	ns := hex.EncodeToString(IDNamespace[:])
	h := "sha256(decode('" + ns + "', 'hex') || convert_to('" + table + ":' || " + keyExpr + ", 'UTF8'))"
	// First 16 bytes; version 8 in byte 6, RFC 4122 variant in byte 8.
	return "encode(set_byte(set_byte(substring(" + h + " from 1 for 16), 6, (get_byte(" + h + ", 6) & 15) | 128), 8, (get_byte(" + h + ", 8) & 63) | 128), 'hex')::uuid"
}
