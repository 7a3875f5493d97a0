package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	stdhtml "html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
	"github.com/cutover/cutover/reconcile/report"
)

// reportLegacy returns a fresh copy of the generated legacy database of the
// report tests: v21 with the drift tables and every anomaly, 60 users,
// seed 7.
func reportLegacy(t *testing.T) string {
	t.Helper()
	return testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 60, Seed: 7})
}

// reportFinished returns a copy of the legacy database and a fresh copy of
// a target a cutover of it finished.
func reportFinished(t *testing.T) (src, dst string) {
	t.Helper()
	src = reportLegacy(t)
	dst = pgtest.NewDBFrom(t, "report_finished", func(ctx context.Context, u string) error {
		if _, err := migrations.Apply(ctx, u, nil); err != nil {
			return err
		}
		_, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: u, MaxRejects: -1, Workers: 2})
		return err
	})
	return src, dst
}

func reportExec(t *testing.T, u string, sql string) {
	t.Helper()
	if _, err := pgtest.Connect(t, u).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func reportScalar(t *testing.T, u string, sql string) string {
	t.Helper()
	var s string
	if err := pgtest.Connect(t, u).QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// readReport reads report.json of dir and checks report.html against it:
// it is well-formed, self-contained and shows the JSON's figures.
func readReport(t *testing.T, dir string) (*report.Report, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if r.SchemaVersion != 1 {
		t.Errorf("schema_version %d", r.SchemaVersion)
	}
	h, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(h)
	checkHTML(t, html, &r)
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), fmt.Sprintf("%d/%d legacy tables hold", r.Totals.LegacyTablesHolding, r.Totals.LegacyTables)) {
		t.Errorf("report.md lacks the conservation total")
	}
	return &r, string(b) + html + string(md)
}

// checkHTML parses the HTML report as XML and checks that it loads nothing
// and shows the figures of the JSON report.
func checkHTML(t *testing.T, html string, r *report.Report) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(html))
	dec.Strict = true
	depth, elements := 0, map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report.html is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			elements[e.Name.Local]++
			for _, a := range e.Attr {
				if a.Name.Local == "src" || a.Name.Local == "href" {
					t.Errorf("report.html loads %s=%q", a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if depth != 0 {
		t.Errorf("report.html leaves %d elements open", depth)
	}
	for _, e := range []string{"script", "link", "img", "iframe", "object"} {
		if elements[e] > 0 {
			t.Errorf("report.html has a <%s>", e)
		}
	}
	if elements["svg"] < 1 || elements["rect"] < 10 || elements["table"] < 5 {
		t.Errorf("report.html lacks its charts or tables: %v", elements)
	}
	for _, bad := range []string{"url(", "@import", "https://", "@font-face"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html is not self-contained: it contains %q", bad)
		}
	}
	// The figures of the JSON report.
	tot := r.Totals
	figures := []string{
		fmt.Sprintf("%d/%d", tot.LegacyTablesHolding, tot.LegacyTables),
		num(tot.SourceRows),
		num(tot.Dispositions.Loaded), num(tot.Dispositions.Rejected),
	}
	for _, l := range r.LegacyTables {
		figures = append(figures, ">"+l.Mapping+"<", ">"+num(l.Source)+"<")
	}
	for _, d := range r.Domains {
		figures = append(figures, d.Title)
	}
	for _, x := range r.Reasons {
		figures = append(figures, ">"+num(x.Rows)+"<")
	}
	for _, f := range r.Findings {
		figures = append(figures, f.Message)
		if f.Key != "" {
			figures = append(figures, f.Key)
		}
	}
	if r.Kind == report.KindVerify {
		figures = append(figures, fmt.Sprintf("%d/%d", *tot.ContentEqual, *tot.ContentChecks),
			fmt.Sprintf("%d/%d", *tot.TargetTablesHolding, *tot.TargetTables))
	}
	text := stdhtml.UnescapeString(html)
	for _, f := range figures {
		if !strings.Contains(text, f) {
			t.Errorf("report.html lacks %q of report.json", f)
		}
	}
}

func num(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// TestVerifyCommand: `cutover verify` on an untouched cutover exits 0 and
// writes the three reports; after each kind of damage to the target it
// exits 2 and names the table and the key.
func TestVerifyCommand(t *testing.T) {
	t.Parallel()
	t.Run("untouched", func(t *testing.T) {
		t.Parallel()
		src, dst := reportFinished(t)
		dir := t.TempDir()
		stdout, stderr, code := runMain(t, nil, "verify", "--source", src, "--target", dst, "--report-dir", dir, "--workers", "2")
		if code != 0 {
			t.Fatalf("verify: exit %d\n%s\n%s", code, stdout, stderr)
		}
		for _, want := range []string{"81/81 legacy tables hold", "63/63 target tables explained", "verify: OK", "wallets differ from their ledger sum"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("the summary lacks %q:\n%s", want, stdout)
			}
		}
		r, _ := readReport(t, dir)
		if !r.OK || r.Kind != report.KindVerify || r.Totals.Failures != 0 || r.Totals.Informational == 0 {
			t.Errorf("report.json: ok %v, kind %s, totals %+v", r.OK, r.Kind, r.Totals)
		}

		// A report that cannot be written after the work (a directory in
		// its place) loses nothing of the result: the summary is printed,
		// then the error, which fails the command.
		blocked := t.TempDir()
		if err := os.Mkdir(filepath.Join(blocked, "report.md"), 0o755); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code = runMain(t, nil, "verify", "--source", src, "--target", dst, "--report-dir", blocked, "--workers", "2")
		if code != 1 || !strings.Contains(stdout, "verify: OK") || !strings.Contains(stderr, "report.md is in the way: it is not a file (no report was written)") {
			t.Errorf("verify with report.md a directory: exit %d, want 1, the summary and the report's error\n%s\n%s", code, stdout, stderr)
		}
	})
	cases := []struct {
		name   string
		tamper func(t *testing.T, dst string) (table, key string)
	}{
		{"delete a row", func(t *testing.T, dst string) (string, string) {
			id := reportScalar(t, dst, `SELECT id::text FROM track_annotations ORDER BY id LIMIT 1`)
			reportExec(t, dst, `DELETE FROM track_annotations WHERE id = '`+id+`'`)
			return "track_annotations", id
		}},
		{"change one value", func(t *testing.T, dst string) (string, string) {
			id := reportScalar(t, dst, `SELECT id::text FROM goals ORDER BY id LIMIT 1`)
			reportExec(t, dst, `UPDATE goals SET title = title || '!' WHERE id = '`+id+`'`)
			return "goals", id
		}},
		{"move a row to another user", func(t *testing.T, dst string) (string, string) {
			id := reportScalar(t, dst, `SELECT id::text FROM habit_completions ORDER BY id LIMIT 1`)
			reportExec(t, dst, `UPDATE habit_completions c SET user_id = (SELECT u.id FROM users u WHERE u.id <> c.user_id ORDER BY u.id LIMIT 1) WHERE id = '`+id+`'`)
			return "habit_completions", id
		}},
		{"add a row", func(t *testing.T, dst string) (string, string) {
			id := "0d0d0d0d-0000-4000-8000-000000000001"
			reportExec(t, dst, `INSERT INTO books (id, user_id, title) SELECT '`+id+`', id, 'a book nobody had' FROM users ORDER BY id LIMIT 1`)
			return "books", id
		}},
		{"drop a reject", func(t *testing.T, dst string) (string, string) {
			table := reportScalar(t, dst, `SELECT legacy_table FROM cutover.rejects ORDER BY legacy_table DESC, legacy_key LIMIT 1`)
			key := reportScalar(t, dst, `SELECT legacy_key FROM cutover.rejects WHERE legacy_table = '`+table+`' ORDER BY legacy_key LIMIT 1`)
			reportExec(t, dst, `DELETE FROM cutover.rejects WHERE legacy_table = '`+table+`' AND legacy_key = '`+key+`'`)
			return table, key
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := reportFinished(t)
			table, key := tc.tamper(t, dst)
			dir := t.TempDir()
			stdout, stderr, code := runMain(t, nil, "verify", "--source", src, "--target", dst, "--report-dir", dir, "--workers", "2")
			if code != exitFindings {
				t.Fatalf("verify after %s: exit %d, want %d\n%s\n%s", tc.name, code, exitFindings, stdout, stderr)
			}
			found := false
			for _, l := range strings.Split(stdout, "\n") {
				if strings.HasPrefix(strings.TrimSpace(l), "FAIL") && strings.Contains(l, " "+table+" ") && strings.Contains(l, key) {
					found = true
				}
			}
			if !found || !strings.Contains(stdout, "verify: FAILED") {
				t.Errorf("the summary does not name %s %s:\n%s", table, key, stdout)
			}
			r, _ := readReport(t, dir)
			if r.OK || r.Totals.Failures == 0 {
				t.Errorf("report.json says ok after %s", tc.name)
			}
		})
	}
}

// TestReportsKeepSecrets: no token of the source or the target reaches a
// report of verify or of a dry run, even when the token is what differs.
func TestReportsKeepSecrets(t *testing.T) {
	t.Parallel()
	src, dst := reportFinished(t)
	id := reportScalar(t, dst, `SELECT id::text FROM sessions ORDER BY id LIMIT 1`)
	original := reportScalar(t, dst, `SELECT token FROM sessions WHERE id = '`+id+`'`)
	reportExec(t, dst, `UPDATE sessions SET token = 'tampered-secret-token' WHERE id = '`+id+`';
		UPDATE accounts SET access_token = 'tampered-access-token' WHERE id = (SELECT id FROM accounts WHERE access_token IS NOT NULL ORDER BY id LIMIT 1)`)
	secrets := []string{original, "tampered-secret-token", "tampered-access-token"}
	for _, q := range []string{
		`SELECT min(token) FROM sessions`,
		`SELECT min(access_token) FROM accounts`,
		`SELECT min(refresh_token) FROM accounts`,
		`SELECT min(id_token) FROM accounts`,
		`SELECT min(credential_public_key) FROM authenticators`,
		`SELECT min(token) FROM verification_tokens`,
	} {
		if s := reportScalar(t, src, `SELECT coalesce((`+q+`), '')`); s != "" {
			secrets = append(secrets, s)
		}
	}
	verifyDir, diffDir := t.TempDir(), t.TempDir()
	vout, verr, code := runMain(t, nil, "verify", "--source", src, "--target", dst, "--report-dir", verifyDir, "--workers", "2")
	if code != exitFindings || !strings.Contains(vout, id) {
		t.Fatalf("verify: exit %d, the changed session is not named:\n%s\n%s", code, vout, verr)
	}
	dout, derr, code := runMain(t, nil, "diff", "--source", src, "--target", dst, "--report-dir", diffDir, "--workers", "2")
	if code != 0 || !strings.Contains(dout, "sessions") {
		t.Fatalf("diff: exit %d:\n%s\n%s", code, dout, derr)
	}
	_, vfiles := readReport(t, verifyDir)
	_, dfiles := readReport(t, diffDir)
	all := vout + verr + dout + derr + vfiles + dfiles
	if !strings.Contains(all, "[redacted]") {
		t.Errorf("no redacted value: the changed token is not reported at all?")
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("a secret (%.12s…) appears in a report", s)
		}
	}
}

// TestVerifyProgressSaysLockWaits: a lock wait the watch reports is a line
// of its own, said at once, also between the count's lines (which come
// every few seconds off a terminal) and on a terminal, where it ends the
// count's line first.
func TestVerifyProgressSaysLockWaits(t *testing.T) {
	const wait = "target: verify has waited 10s for a lock on public.habits, blocked by pid 7"
	for _, c := range []struct {
		name string
		tty  bool
		want string
	}{
		{"log", false, "verify: " + wait + "\n"},
		{"terminal", true, "\rverify: 1/9 checks\r\033[Kverify: " + wait + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			p := &verifyProgress{w: &out, tty: c.tty, last: time.Now()}
			p.event(reconcile.Event{Check: "content", Table: "habits", Done: 1, Total: 9})
			p.event(reconcile.Event{Message: wait})
			if out.String() != c.want {
				t.Errorf("said %q, want %q", out.String(), c.want)
			}
		})
	}
}
