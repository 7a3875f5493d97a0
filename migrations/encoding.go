package migrations

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TargetEncodingError refuses a target database whose encoding is not
// UTF8: a run copies the source's text in its UTF-8 bytes, converting
// nothing (binary COPY), so a target in another encoding would store them
// as characters of its own (mojibake), and no check could tell, as both
// sides would hash the same bytes. `schema apply` refuses it too, so that
// the schema is not applied where no run may write. Nothing was written.
type TargetEncodingError struct {
	Target   string // dburl.Describe of its URL
	Encoding string
}

func (e *TargetEncodingError) Error() string {
	return fmt.Sprintf("the target %s is a database in encoding %s, and the cutover writes the application's text as UTF-8: create the target database with ENCODING 'UTF8' (CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8'), apply the schema there, and run against it (nothing was written)", e.Target, e.Encoding)
}

// CheckTargetEncoding refuses a target whose encoding is not UTF8
// (TargetEncodingError); target is how errors name it.
func CheckTargetEncoding(ctx context.Context, conn *pgx.Conn, target string) error {
	var enc string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_encoding')`).Scan(&enc); err != nil {
		return fmt.Errorf("read the target's encoding: %w", err)
	}
	if enc != "UTF8" {
		return &TargetEncodingError{Target: target, Encoding: enc}
	}
	return nil
}
