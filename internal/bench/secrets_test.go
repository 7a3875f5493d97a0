package bench

import (
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/pgtest"
)

// urlsNotInArgs is the start of a fake child's script: it fails with exit
// code 99 when a connection URL is on its command line, which every user
// of the machine may read (ps).
const urlsNotInArgs = "case \"$*\" in *://*|*host=*) echo \"a URL on the command line: $*\" >&2; exit 99;; esac\n"

// TestChildOutputKeepsNoSecrets: a pgcopydb that fails prints the URLs it
// was given (in its environment, as the bench gives them), password and
// all, as pgcopydb 0.10 does in "Failed to export a snapshot on
// postgres://bob:…@…" (seen by hand). The bench puts the tail of a failed
// child's output into its report, which must not hold the password of
// --source or --target in any of the forms a URL writes it (bare, or
// escaped in the user info or the query).
func TestChildOutputKeepsNoSecrets(t *testing.T) {
	// A password that URLs escape, unless the test server's URL has one
	// of its own (which its server checks).
	const ours = "s3cret pw/+&x"
	source, password := pgtest.WithPassword(t, pgtest.NewDB(t), ours)
	target, _ := pgtest.WithPassword(t, pgtest.NewDB(t), ours)
	o := &Options{SourceURL: source, TargetURL: target, Workers: 2, Log: io.Discard}
	// A pgcopydb that prints the URLs of its environment, the password in
	// a query parameter and in a keyword/value string, and fails.
	fake := filepath.Join(t.TempDir(), "pgcopydb")
	script := "#!/bin/sh\n" +
		"if [ \"$1\" = --version ]; then echo 'pgcopydb version 0.10-1'; exit 0; fi\n" +
		urlsNotInArgs +
		"echo \"FATAL Failed to export a snapshot on $PGCOPYDB_SOURCE_PGURI\" >&2\n" +
		"echo \"ERROR target $PGCOPYDB_TARGET_PGURI\" >&2\n" +
		"echo 'ERROR postgres://bob@db/x?password=" + url.QueryEscape(password) + " and password=" + password + "' >&2\n" +
		"exit 12\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	o.Pgcopydb = fake
	srv, err := startServers(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	m := measurePgcopydb(context.Background(), o, srv, &Machine{})
	if m.Status != StatusFailed || !strings.Contains(m.Note, "exit code 12") || !strings.Contains(m.Note, "Failed to export a snapshot on") {
		t.Fatalf("the fake pgcopydb's failure is not reported: %s: %s", m.Status, m.Note)
	}
	forms := []string{password, url.QueryEscape(password), url.PathEscape(password)}
	if password == ours {
		forms = append(forms, "s3cret")
	}
	for _, form := range forms {
		if strings.Contains(m.Note, form) {
			t.Errorf("the report's note holds the password (as %q):\n%s", form, m.Note)
		}
	}
	if strings.Count(m.Note, "xxxxx") < 4 {
		t.Errorf("the note does not show where the password was taken out:\n%s", m.Note)
	}
}

// TestCutoverChildrenGetTheURLsFromTheEnvironment: the bench runs each
// cutover command with the URLs in CUTOVER_SOURCE_URL and
// CUTOVER_TARGET_URL, not on its command line.
func TestCutoverChildrenGetTheURLsFromTheEnvironment(t *testing.T) {
	o := &Options{SourceURL: pgtest.NewDB(t), TargetURL: pgtest.NewDB(t), Workers: 2, Log: io.Discard, SampleEvery: 50 * time.Millisecond}
	fake := filepath.Join(t.TempDir(), "cutover")
	script := "#!/bin/sh\n" + urlsNotInArgs +
		"[ \"$CUTOVER_SOURCE_URL\" = '" + o.SourceURL + "' ] && [ \"$CUTOVER_TARGET_URL\" = '" + o.TargetURL + "' ] || exit 98\n" +
		"echo \"$*\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := startServers(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	m := measureCommand(context.Background(), o, srv, fake, "cutover verify", []string{"verify", "--workers", "2"})
	if m.Status != StatusOK {
		t.Errorf("the child did not find its URLs in its environment (98) or found one on its command line (99): %s: %s", m.Status, m.Note)
	}
}
