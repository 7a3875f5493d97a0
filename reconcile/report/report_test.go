package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	stdhtml "html"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

func TestNum(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 67021: "67,021", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := num(in); got != want {
			t.Errorf("num(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubDiff(t *testing.T) {
	// A go-cmp diff, with its non-breaking spaces.
	in := "  map[string]any{\n" +
		"- \t\"title\": string(\"old\"),\n" +
		"+ \t\"title\": string(\"new\"),\n" +
		"- \t\"token\": string(\"tok_4f9a\"),\n" +
		"+\u00a0\t\"token\": string(\"tok_77e1\"),\n" +
		"  \t\"password_hash\": strings.Join({\n" +
		"  \t\t\"$2b$10$abcdef\",\n" +
		"- \t\t\"line-two\",\n" +
		"  \t}, \"\\n\"),\n" +
		"  \t\"client_secret\": string(\"s3cr3t\"),\n" +
		"- \t\"apiKey\": string(\"ak_1\"),\n" +
		"+ \t\"Authorization\": string(\"Bearer b_2\"),\n" +
		"  \t\"pwd\": string(\"pw_3\"),\n" +
		"  \t\"notes\": string(\"kept\"),\n" +
		"  }\n"
	out := ScrubDiff(in)
	for _, secret := range []string{"tok_4f9a", "tok_77e1", "$2b$10$abcdef", "line-two", "s3cr3t", "ak_1", "b_2", "pw_3"} {
		if strings.Contains(out, secret) {
			t.Errorf("ScrubDiff leaves %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{`"title": string("old")`, `"title": string("new")`, `"notes": string("kept")`, `"token": "[redacted]"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("ScrubDiff loses %q:\n%s", kept, out)
		}
	}
}

// hostile is a report whose every string tries to break the HTML, with
// the findings extra besides its own.
func hostile(extra ...reconcile.Finding) *Report {
	res := &reconcile.Result{
		Flavor: "v21", Source: "app@db:5432/legacy", Target: "app@db:5432/app",
		LastRun: reconcile.RunInfo{ID: 3, Status: "done"},
		Tables: []reconcile.TableCheck{
			{Legacy: "users", Mapping: "users", Target: "users", Source: 10, Loaded: 9, Rejected: 1, Holds: true},
			{Legacy: "books", Mapping: "books", Target: "books", Source: 5, Loaded: 4, Holds: false, Unaccounted: 1},
			{Legacy: "plan_templates", Mapping: "plan_templates", Source: 2, Archived: 2, Holds: true},
		},
		Targets:  []reconcile.TargetCheck{{Table: "users", Rows: 9, Loaded: 9, Holds: true}, {Table: "books", Rows: 4, Loaded: 4, Missing: 1}},
		Contents: []reconcile.ContentCheck{{Mapping: "books", Legacy: "books", Target: "books", OneToOne: true, Columns: []string{"title"}, SourceRows: 5, TargetRows: 4, Missing: 1}},
		Invariants: []reconcile.InvariantCheck{
			{Check: "foreign_key", Name: "books.user_id → users", Table: "books", Severity: reconcile.Failure, Holds: true},
			{Check: "wallet", Name: "user_wallet.coins = sum(points_ledger.coins) per user", Table: "user_wallet", Rows: 9, Violations: 1, Severity: reconcile.Info},
		},
		Reasons: []reconcile.Reason{{Disposition: "rejected", Reason: "duplicate_email", Rows: 1}, {Disposition: "archived", Reason: "not_in_target", Rows: 2}},
		Findings: []reconcile.Finding{
			{Severity: reconcile.Failure, Check: "content", Kind: "changed_row", Table: "books", Key: `k<'&">`, Columns: []string{"title"},
				Message: `title: legacy "<script>alert(1)</script>", target "a & b ]]> <!-- x"`},
			{Severity: reconcile.Info, Check: "wallet", Kind: "wallet_ledger_diff", Table: "user_wallet", Key: "w1", Message: "coins 5 + 1"},
		},
		Elapsed: 1500 * time.Millisecond,
	}
	res.Findings = append(res.Findings, extra...)
	return FromVerify(res, Options{Now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)})
}

func wellFormed(t *testing.T, html string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(html))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, html)
		}
		if e, ok := tok.(xml.StartElement); ok && (e.Name.Local == "script" || e.Name.Local == "link" || e.Name.Local == "img") {
			t.Errorf("<%s> in the report", e.Name.Local)
		}
	}
}

const hostileKey = "q|`x``\n## inj\r\x1b[2J<b>z</b>\u202e&amp;"

// TestReportsShowHostileValuesAsText: a value of the legacy data in a
// finding reaches no report as markup or as a control character: the
// text (a terminal), the Markdown (one table row, the key one code span,
// the message's markup escaped) and the HTML (well-formed XML) each show
// it as text.
func TestReportsShowHostileValuesAsText(t *testing.T) {
	// A legacy key with a pipe, backticks, a line break, a carriage
	// return, a terminal escape, markup and a right-to-left override.
	r := hostile(reconcile.Finding{Severity: reconcile.Failure, Check: "conservation", Kind: "unaccounted", Table: "quests", Key: hostileKey,
		Message: "no data in the target accounts for " + hostileKey})
	const shown = "q|`x``\\x0a## inj\\x0d\\x1b[2J<b>z</b>\\u202e&amp;"
	text, md, html := render(t, r, 25)
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String(), "html": html.String()} {
		if strings.ContainsAny(out, "\r\x1b\u202e") {
			t.Errorf("the %s report passes a control character on:\n%q", name, out)
		}
	}
	if !strings.Contains(text.String(), shown) {
		t.Errorf("the text report does not show the key as %q:\n%s", shown, text.String())
	}
	wellFormed(t, html.String())
	var row string
	for _, l := range strings.Split(md.String(), "\n") {
		if strings.Contains(l, "## inj") {
			row = l
		}
	}
	want := "| failure | conservation | quests | ```q\\|`x``\\x0a## inj\\x0d\\x1b[2J<b>z</b>\\u202e&amp;``` | no data in the target accounts for q\\|`x``\\x0a## inj\\x0d\\x1b[2J&lt;b&gt;z&lt;/b&gt;\\u202e&amp;amp; |"
	if row != want {
		t.Errorf("markdown row of the hostile key:\n got %s\nwant %s", row, want)
	}
	if !strings.Contains(md.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("markdown passes a message's markup on as HTML:\n%s", md.String())
	}
	// report.json, for machines, keeps the key as it is.
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(back.Findings, func(f Finding) bool { return f.Key == hostileKey }) {
		t.Errorf("report.json does not keep the key %q as it is", hostileKey)
	}
}

// TestPrintable: what printable escapes reads as one escape, a backslash
// of a string it escapes included; a string with nothing to escape is as
// it was.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain \\x09 text": "plain \\x09 text",
		"a\tb":             "a\\x09b",
		"a\\x09b\t":        "a\\\\x09b\\x09",
		"\u202eevil\u2028": "\\u202eevil\\u2028",
		"emoji 👩‍💻 stays":  "emoji 👩‍💻 stays",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHTMLEscapesAndStaysWellFormed(t *testing.T) {
	r := hostile()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	wellFormed(t, html)
	if strings.Contains(html, "<script>") {
		t.Error("a message's markup reaches the HTML unescaped")
	}
	for _, want := range []string{"FAILED", "app@db:5432/legacy", "Accounts and access", "Books", "Planning", "duplicate_email"} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), `k<'&">`) || strings.Count(md.String(), "\n| content |") != 1 {
		t.Errorf("markdown findings:\n%s", md.String())
	}
}

func TestJSONStableAndVersioned(t *testing.T) {
	r := hostile()
	if r.OK || r.Totals.Failures != 1 || r.Totals.Informational != 1 || r.Totals.LegacyTablesHolding != 2 {
		t.Errorf("totals %+v ok %v", r.Totals, r.OK)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["schema_version"] != float64(1) || m["generated_at"] != "2025-06-01T12:00:00Z" || m["elapsed_ms"] != float64(1500) {
		t.Errorf("header: %v %v %v", m["schema_version"], m["generated_at"], m["elapsed_ms"])
	}
	res := &reconcile.Result{Flavor: "v21", Source: "x", Target: "y", LastRun: reconcile.RunInfo{ID: 9, Status: "done"}, Elapsed: time.Second}
	var s bytes.Buffer
	if err := WriteJSON(&s, FromVerify(res, Options{Stable: true})); err != nil {
		t.Fatal(err)
	}
	for _, volatile := range []string{"generated_at", "elapsed_ms", `"source"`, `"target"`, `"id"`} {
		if strings.Contains(s.String(), volatile) {
			t.Errorf("a stable report holds %s:\n%s", volatile, s.String())
		}
	}
}

func TestDryRunReport(t *testing.T) {
	d := &load.Diff{
		Flavor: "v21",
		Tables: []load.TableResult{{Legacy: "users", Mapping: "users", Target: "users", Source: 3, Loaded: 2, Rejected: 1, Finished: true}},
		Targets: []load.TableDiff{
			{Table: "users", Insert: 1, Update: 1, Unchanged: 0, Samples: []load.RowDiff{{Key: "u1", Diff: "  map[string]any{\n- \t\"name\": string(\"a\"),\n+ \t\"name\": string(\"b\"),\n- \t\"session_token\": string(\"zzz-secret\"),\n  }"}}},
			{Table: "books"},
		},
		Reasons: []load.ReasonCount{{Disposition: "rejected", Reason: "duplicate_email", Rows: 1}},
		Elapsed: time.Second,
	}
	r := FromDryRun(d, "s", "t", true, Options{})
	if !r.OK || r.Totals.Changes.Total() != 2 || r.TargetTables[0].Changes.Samples[0].Key != "u1" {
		t.Errorf("dry-run report: %+v", r.Totals)
	}
	var all bytes.Buffer
	for _, w := range []func(io.Writer, *Report) error{WriteJSON, WriteMarkdown, WriteHTML} {
		if err := w(&all, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteText(&all, r, 5); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(all.String(), "zzz-secret") {
		t.Error("a secret of a row diff reaches a report")
	}
	var h bytes.Buffer
	WriteHTML(&h, r)
	wellFormed(t, h.String())
	var text bytes.Buffer
	WriteText(&text, r, 5)
	for _, want := range []string{"users", "a run would write 2 rows (1 insert, 1 update, 0 deletes)", "(1 more target table would not change)", "u1"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("terminal summary lacks %q:\n%s", want, text.String())
		}
	}
}

// TestDryRunReportLeftAlone: a changed table that a plain run leaves is an
// informational finding and a section of the terminal summary; an
// unchanged one is neither, and the report stays OK.
func TestDryRunReportLeftAlone(t *testing.T) {
	d := &load.Diff{
		Flavor: "v21",
		Targets: []load.TableDiff{{Table: "reading_sessions", Update: 1, Insert: 1, Samples: []load.RowDiff{{Key: "rs1", Diff: "-a\n+b\n"}}},
			{Table: "books", Unchanged: 4}, {Table: "users", Update: 3, Samples: []load.RowDiff{{Key: "u1", Diff: "-c\n+d\n"}}}},
		LeftAlone: map[string]int64{"books": 0, "reading_sessions": 2},
	}
	r := FromDryRun(d, "s", "t", true, Options{})
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Severity+" "+f.Check+" "+f.Kind+" "+f.Table)
	}
	if d := cmp.Diff([]string{"info rerun left_alone reading_sessions"}, got); d != "" || !r.OK {
		t.Errorf("findings (-want +got), report OK %v:\n%s", r.OK, d)
	}
	var text bytes.Buffer
	if err := WriteText(&text, r, 5); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CHANGED IN THE TARGET AFTER THE CUTOVER WROTE IT", "reading_sessions: 2 rows differ", "`cutover run --full` writes them back"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("terminal summary lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "books:") || strings.Contains(text.String(), "users:") {
		t.Errorf("terminal summary names a table a plain run writes or that does not change:\n%s", text.String())
	}
	// The samples under "what the run would write" say which a plain
	// run leaves.
	for _, want := range []string{"  reading_sessions rs1 (a plain run leaves this table as it is; `cutover run --full` writes this):\n", "  users u1:\n"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("terminal summary lacks the sample heading %q:\n%s", want, text.String())
		}
	}
	_, md, html := render(t, r, 0)
	wellFormed(t, html.String())
	for name, out := range map[string]string{"markdown": md.String(), "html": html.String()} {
		if strings.Count(out, "a plain run leaves this table as it is") != 1 {
			t.Errorf("the %s report does not say once which sample a plain run leaves:\n%s", name, out)
		}
	}
}

// TestDryRunTextCapsSamples: the terminal summary shows at most its
// maximum of row diffs in all, across tables, and none when it is 0.
func TestDryRunTextCapsSamples(t *testing.T) {
	two := func(table string) load.TableDiff {
		return load.TableDiff{Table: table, Update: 2, Samples: []load.RowDiff{{Key: table + "1", Diff: "-a\n+b\n"}, {Key: table + "2", Diff: "-c\n+d\n"}}}
	}
	r := FromDryRun(&load.Diff{Flavor: "v21", Targets: []load.TableDiff{two("books"), two("goals"), two("users")}}, "s", "t", true, Options{})
	for _, tc := range []struct{ max, want int }{{0, 0}, {1, 1}, {3, 3}, {6, 6}, {10, 6}} {
		var text bytes.Buffer
		if err := WriteText(&text, r, tc.max); err != nil {
			t.Fatal(err)
		}
		shown := 0
		for _, l := range strings.Split(text.String(), "\n") {
			if strings.HasPrefix(l, "  ") && strings.HasSuffix(l, ":") && strings.Count(l, " ") == 3 {
				shown++
			}
		}
		if shown != tc.want || (tc.want > 0) != strings.Contains(text.String(), "SAMPLE UPDATES") {
			t.Errorf("at most %d: %d samples shown, want %d:\n%s", tc.max, shown, tc.want, text.String())
		}
	}
}

// TestDryRunTextShowsEveryRejectReason: the terminal lists the 12 largest
// reasons and every reason rows would be rejected for, however few rows:
// duplicate_email's 2 rows, the cause of most parent_rejected rows, fell
// under "3 more reasons" (a review).
func TestDryRunTextShowsEveryRejectReason(t *testing.T) {
	d := &load.Diff{Flavor: "v21"}
	for i := range 14 {
		d.Reasons = append(d.Reasons, load.ReasonCount{Disposition: "archived", Reason: "archived_" + string(rune('a'+i)), Rows: int64(1000 - i)})
	}
	d.Reasons = append(d.Reasons, load.ReasonCount{Disposition: "rejected", Reason: "duplicate_email", Rows: 2},
		load.ReasonCount{Disposition: "discarded", Reason: "expired_session", Rows: 1})
	var text bytes.Buffer
	if err := WriteText(&text, FromDryRun(d, "s", "t", true, Options{}), 3); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{"archived  archived_l", "rejected  duplicate_email  2", "3 more reasons in report.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "archived_m") || strings.Contains(out, "expired_session") {
		t.Errorf("the summary lists more than the 12 largest reasons and the rejects':\n%s", out)
	}
}

// TestDryRunReportRefusals: rows the target's constraints refuse fail the
// dry run's report, with a finding per refusal, and the terminal summary
// names the constraint and the keys.
func TestDryRunReportRefusals(t *testing.T) {
	d := &load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "books", Insert: 3}},
		Refusals: []load.Refusal{{Mapping: "books", Legacy: "books", Table: "books", Constraint: "check books_short",
			Definition: "CHECK (total_pages < 5000)", Count: 7, Keys: []string{"k1", "k2", "k3", "k4", "k5"}}}}
	r := FromDryRun(d, "s", "t", false, Options{})
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Severity+" "+f.Check+" "+f.Kind+" "+f.Table)
	}
	if d := cmp.Diff([]string{"failure constraints refused_rows books"}, got); d != "" || r.OK {
		t.Errorf("findings (-want +got), report OK %v:\n%s", r.OK, d)
	}
	var text bytes.Buffer
	if err := WriteText(&text, r, 5); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"THE TARGET REFUSES ROWS A RUN WOULD LOAD",
		"FAIL books: a run would stop at the mapping books: the target's books check books_short (CHECK (total_pages < 5000)) refuses 7 legacy books rows",
		"(keys k1, k2, k3, k4, k5 and 2 more)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("terminal summary lacks %q:\n%s", want, text.String())
		}
	}
	// Every form's headline says the run would stop, before what it
	// would write up to there (the HTML's said the conservation law would
	// not hold; the Markdown's only what a run writes).
	const headline = "a run would stop: the target's constraints refuse rows it would write into books (see the findings); until then, a run would write 3 rows"
	_, md, html := render(t, r, 0)
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String(), "html": stdhtml.UnescapeString(html.String())} {
		if !strings.Contains(out, headline) || strings.Contains(out, "conservation law would not hold") {
			t.Errorf("the %s report's headline does not say %q:\n%s", name, headline, out)
		}
	}
	if r := FromDryRun(&load.Diff{Flavor: "v21"}, "s", "t", false, Options{}); !r.OK || len(r.Findings) != 0 {
		t.Errorf("a dry run without refusals: OK %v, findings %+v", r.OK, r.Findings)
	}
	// A second refused constraint of the table names it once; a seal
	// leads, and leaves the stop said.
	d.Refusals = append(d.Refusals, load.Refusal{Mapping: "books", Legacy: "books", Table: "books", Constraint: "check books_title",
		Definition: "CHECK (length(title) < 9)", Count: 1, Keys: []string{"k9"}})
	d.Sealed = &load.Seal{Host: "ops", At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	const sealedHeadline = "the target is sealed (it went live), and a run refuses it; unsealed, a run would stop: the target's constraints refuse rows it would write into books (see the findings); until then, a run would write 3 rows"
	if got := dryRunHeadline(FromDryRun(d, "s", "t", false, Options{})); !strings.HasPrefix(got, sealedHeadline) {
		t.Errorf("headline of a sealed target with two refused constraints:\n got %s\nwant %s…", got, sealedHeadline)
	}
}

// TestDryRunReportRoom: the room a dry run took on the target is in every
// form of its report, and out of a stable one (it differs run to run).
func TestDryRunReportRoom(t *testing.T) {
	d := &load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "users", Insert: 3}},
		Space: &load.Space{Before: 5 << 20, Peak: 120 << 20, After: 118 << 20}}
	r := FromDryRun(d, "s", "t", false, Options{})
	if r.Room == nil || r.Room.Taken() != 115<<20 {
		t.Fatalf("room: %+v, want 115 MiB taken", r.Room)
	}
	var js, md, html, text bytes.Buffer
	for _, w := range []struct {
		b     *bytes.Buffer
		write func(io.Writer, *Report) error
		want  string
	}{
		{&js, WriteJSON, `"peak_bytes": 125829120`},
		{&md, WriteMarkdown, "| room on the target | the dry run took at least 115 MiB on the target at its peak"},
		{&html, WriteHTML, "<b>115 MiB</b><span>room the dry run took on the target"},
		{&text, func(w io.Writer, r *Report) error { return WriteText(w, r, 5) }, "room on the target: the dry run took at least 115 MiB"},
	} {
		if err := w.write(w.b, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(w.b.String(), w.want) {
			t.Errorf("report lacks %q:\n%s", w.want, w.b.String())
		}
	}
	if s := FromDryRun(d, "s", "t", false, Options{Stable: true}); s.Room != nil {
		t.Errorf("a stable report has the room: %+v", s.Room)
	}
}

// TestDryRunReportHotStandby: a dry run read from a hot standby says so in
// its findings (information), with the standby's replay position except
// in a stable report, and what its settings let replay do to a run.
func TestDryRunReportHotStandby(t *testing.T) {
	read := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	sb := &extract.Standby{StreamingDelay: 30 * time.Second, ArchiveDelay: 30 * time.Second, ReadAt: read, LastReplayed: read.Add(-2 * time.Second)}
	d := &load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "users", Insert: 3}}, Standby: sb}
	for _, c := range []struct {
		name     string
		opts     Options
		position bool
	}{{"volatile", Options{}, true}, {"stable", Options{Stable: true}, false}} {
		t.Run(c.name, func(t *testing.T) {
			r := FromDryRun(d, "s", "t", false, c.opts)
			var got *Finding
			for i, f := range r.Findings {
				if f.Kind == reconcile.KindHotStandby {
					got = &r.Findings[i]
				}
			}
			if got == nil || got.Severity != string(reconcile.Info) || got.Check != reconcile.CheckSource || !r.OK {
				t.Fatalf("findings %+v (ok %v), want one informational hot_standby finding", r.Findings, r.OK)
			}
			for _, want := range []string{"the source is a hot standby, and a run reads only what it has replayed",
				"(hot_standby_feedback off, max_standby_streaming_delay 30s, max_standby_archive_delay 30s) let replay cancel a run"} {
				if !strings.Contains(got.Message, want) {
					t.Errorf("message %q lacks %q", got.Message, want)
				}
			}
			if has := strings.Contains(got.Message, "its last replayed commit is from 2026-12-05T02:59:58Z, 2s before the run began"); has != c.position {
				t.Errorf("message %q: replay position shown %v, want %v", got.Message, has, c.position)
			}
			var md bytes.Buffer
			if err := WriteMarkdown(&md, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), "| info | source |  | `` | the source is a hot standby") {
				t.Errorf("report.md lacks the finding:\n%s", md.String())
			}
		})
	}
	if r := FromDryRun(&load.Diff{Flavor: "v21"}, "s", "t", false, Options{}); slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Kind == reconcile.KindHotStandby }) {
		t.Errorf("a dry run of a primary has a hot_standby finding: %+v", r.Findings)
	}
}

// TestChangesPhrase: each count of a dry run's changes agrees with its
// noun, with thousands separated.
func TestChangesPhrase(t *testing.T) {
	for _, c := range []struct {
		changes Changes
		want    string
	}{
		{Changes{Update: 1}, "1 row (0 inserts, 1 update, 0 deletes)"},
		{Changes{Insert: 1, Delete: 1}, "2 rows (1 insert, 0 updates, 1 delete)"},
		{Changes{Insert: 54273, Update: 18}, "54,291 rows (54,273 inserts, 18 updates, 0 deletes)"},
	} {
		if got := changesPhrase(&c.changes); got != c.want {
			t.Errorf("%+v: %q, want %q", c.changes, got, c.want)
		}
	}
}

// TestDryRunReportOtherDatabase: a dry run whose source is not the
// database the last run read lists that as an informational finding of
// the source, which fails nothing; one from the same database lists none.
func TestDryRunReportOtherDatabase(t *testing.T) {
	notice := (&migrations.OtherSource{Run: 4, Status: "done", Source: "app@10.0.0.5:5432/legacy", Started: time.Date(2026, 12, 1, 22, 10, 0, 0, time.UTC)}).
		Notice("app@10.0.0.9:5432/legacy")
	r := FromDryRun(&load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "users", Insert: 3}}, OtherSource: notice}, "s", "t", false, Options{Stable: true})
	var got []Finding
	for _, f := range r.Findings {
		if f.Kind == reconcile.KindOtherDatabase {
			got = append(got, f)
		}
	}
	want := notice + ". The dry run compared this source with what the target holds: a run makes the target this source's image"
	if len(got) != 1 || got[0].Severity != string(reconcile.Info) || got[0].Check != reconcile.CheckSource || got[0].Message != want || !r.OK {
		t.Errorf("findings %+v (ok %v), want one informational other_database finding %q", r.Findings, r.OK, want)
	}
	if r := FromDryRun(&load.Diff{Flavor: "v21"}, "s", "t", false, Options{}); slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Kind == reconcile.KindOtherDatabase }) {
		t.Errorf("a dry run from the last run's database has an other_database finding: %+v", r.Findings)
	}
}

// TestDryRunStatusSaysWhatAPlainRunWrites: rows changed in the target
// after the cutover wrote them, which a plain run leaves, are not counted
// as its writes: the headline says what a plain run writes and names the
// others apart, in every format.
func TestDryRunStatusSaysWhatAPlainRunWrites(t *testing.T) {
	for _, c := range []struct {
		name    string
		targets []load.TableDiff
		left    map[string]int64
		want    string
	}{
		{"nothing", []load.TableDiff{{Table: "books", Unchanged: 3}}, nil, "a run would change nothing"},
		{"source changes only", []load.TableDiff{{Table: "ideas", Update: 1}, {Table: "books", Insert: 2}}, map[string]int64{"books": 0},
			"a run would write 3 rows (2 inserts, 1 update, 0 deletes)"},
		{"hand edits only", []load.TableDiff{{Table: "books", Update: 2}}, map[string]int64{"books": 2},
			"a plain run would write nothing; 2 rows differ from what the source decides, changed in the target after the cutover wrote them, which only `cutover run --full` writes back"},
		{"both", []load.TableDiff{{Table: "ideas", Update: 1}, {Table: "books", Update: 1}, {Table: "inbox_items", Update: 1}},
			map[string]int64{"books": 1, "inbox_items": 1},
			"a plain run would write 1 row; 2 rows more differ from what the source decides, changed in the target after the cutover wrote them, which only `cutover run --full` writes back (in all 3 rows (0 inserts, 3 updates, 0 deletes))"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := FromDryRun(&load.Diff{Flavor: "v21", Targets: c.targets, LeftAlone: c.left}, "s", "t", false, Options{Stable: true})
			if got := dryRunStatus(r.Totals.Changes); got != c.want {
				t.Errorf("status:\n got %s\nwant %s", got, c.want)
			}
			text, md, html := render(t, r, 0)
			for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
				if !strings.Contains(out, c.want) {
					t.Errorf("the %s report does not say %q:\n%s", name, c.want, out)
				}
			}
			if want := strings.ReplaceAll(c.want, "`", "&#96;"); !strings.Contains(html.String(), c.want) && !strings.Contains(html.String(), want) {
				t.Errorf("the HTML report does not say %q", c.want)
			}
		})
	}
}

// TestDryRunOfASealedTarget: a dry run of a sealed target says, in every
// format, that a run refuses it, and what a run would write unsealed; a
// stable report leaves out when and where it was sealed.
func TestDryRunOfASealedTarget(t *testing.T) {
	at := time.Date(2026, 12, 5, 2, 31, 7, 0, time.UTC)
	d := &load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "ideas", Update: 1}}, Sealed: &load.Seal{At: at, Run: 2, Host: "db-migrate-1"}}
	const want = "the target is sealed (it went live), and a run refuses it; unsealed, a run would write 1 row (0 inserts, 1 update, 0 deletes)"
	for _, stable := range []bool{false, true} {
		r := FromDryRun(d, "s", "t", false, Options{Stable: stable})
		var text, md, js bytes.Buffer
		if err := WriteText(&text, r, 0); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
			if !strings.Contains(out, want) {
				t.Errorf("stable %v: the %s report does not say %q:\n%s", stable, name, want, out)
			}
		}
		if got := strings.Contains(js.String(), "2026-12-05T02:31:07Z (on db-migrate-1, after run 2)"); got == stable {
			t.Errorf("stable %v: the JSON report names when the target was sealed: %v\n%s", stable, got, js.String())
		}
		if !strings.Contains(js.String(), `"kind": "sealed"`) {
			t.Errorf("stable %v: no finding of kind sealed:\n%s", stable, js.String())
		}
	}
}

// TestReportsSayTheConservationGap: a conservation law that does not hold
// is written with "≠" and the gap, in each report for people: its sum,
// one short of the source rows, read as if it held.
func TestReportsSayTheConservationGap(t *testing.T) {
	r := hostile() // books: 5 source rows, 4 loaded
	text, md, html := render(t, r, 5)
	const line = "17 source rows ≠ 13 loaded + 0 merged + 0 folded + 2 archived + 0 discarded + 1 rejected (1 row accounted for by nothing)"
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
		if !strings.Contains(out, line) {
			t.Errorf("the %s report lacks %q:\n%s", name, line, out)
		}
	}
	if !strings.Contains(html.String(), "17 rows, 1 row accounted for by nothing") {
		t.Errorf("the HTML report's chart does not say the gap:\n%s", html.String())
	}
}

// TestDryRunReportListsRejectedRows: the rows a run would reject are in
// every form of the dry run's report, as text: the rows to fix.
func TestDryRunReportListsRejectedRows(t *testing.T) {
	d := &load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "users", Insert: 3}},
		Reasons: []load.ReasonCount{{Disposition: "rejected", Reason: "duplicate_email", Rows: 1}},
		Rejects: []load.RejectedRow{{Legacy: "users", Key: "u|<7>", Reason: "duplicate_email", Message: "email a@b.c is user u1's <b>"}}}
	r := FromDryRun(d, "s", "t", false, Options{})
	var text, md, html, js bytes.Buffer
	if err := WriteText(&text, r, 5); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, html.String())
	for name, want := range map[string]string{
		"text":     "ROWS A RUN WOULD REJECT (fix them in the source)\n  users  u|<7>  duplicate_email  email a@b.c is user u1's <b>\n",
		"markdown": "| users | `u\\|<7>` | duplicate_email | email a@b.c is user u1's &lt;b&gt; |",
		"html":     `<td>users</td><td class="key">u|&lt;7&gt;</td><td>duplicate_email</td><td>email a@b.c is user u1&#39;s &lt;b&gt;</td>`,
		"json":     `"rejected_rows": [`,
	} {
		out := map[string]string{"text": text.String(), "markdown": md.String(), "html": html.String(), "json": js.String()}[name]
		if !strings.Contains(out, want) {
			t.Errorf("the %s report lacks %q:\n%s", name, want, out)
		}
	}
}

// render writes r in the three reports for people: text (at most samples
// findings), Markdown and HTML.
func render(t *testing.T, r *Report, samples int) (text, md, html *bytes.Buffer) {
	t.Helper()
	text, md, html = new(bytes.Buffer), new(bytes.Buffer), new(bytes.Buffer)
	if err := WriteText(text, r, samples); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(html, r); err != nil {
		t.Fatal(err)
	}
	return text, md, html
}

// TestDryRunReportDroppedColumns: the values a run would drop are in every
// report, the HTML's too when no row would be rejected, archived,
// discarded or merged (its reasons' section, which held them, is absent
// then: the diff review).
func TestDryRunReportDroppedColumns(t *testing.T) {
	d := &load.Diff{Flavor: "v21", Targets: []load.TableDiff{{Table: "workout_exercises", Insert: 2000}},
		ColumnLoss: []load.ColumnLoss{{Mapping: "workout_exercises", Column: "section_id", NonNull: 1814}}}
	r := FromDryRun(d, "s", "t", true, Options{})
	text, md, html := render(t, r, 3)
	wellFormed(t, html.String())
	for name, c := range map[string]struct{ out, want string }{
		"text":     {text.String(), "  workout_exercises.section_id  1,814\n"},
		"markdown": {md.String(), "| workout_exercises | section_id | 1,814 |"},
		"html":     {html.String(), "<tr><td>workout_exercises</td><td>section_id</td><td class=\"n\">1,814</td></tr>"},
	} {
		if !strings.Contains(c.out, c.want) {
			t.Errorf("the %s report lacks %q:\n%s", name, c.want, c.out)
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var back struct {
		DroppedColumns []DroppedColumn `json:"dropped_columns"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]DroppedColumn{{"workout_exercises", "section_id", 1814}}, back.DroppedColumns); d != "" {
		t.Errorf("report.json's dropped columns (-want +got):\n%s", d)
	}
}
