package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteJSON writes the report as indented JSON (docs/report-schema.md).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// PrepareDir creates dir when it is missing and checks that files can be
// written in it, so that a command finds out before its work, not after,
// that it could not keep its report.
func PrepareDir(dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("report directory %s is a file, not a directory: give a directory (it is created when missing)", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".cutover-report-check-")
	if err != nil {
		return fmt.Errorf("report directory %s cannot be written: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// WriteDir writes report.json, report.md and report.html into dir, creating
// it. All three are rendered and written to temporary names first, and
// renamed only once every one is written, so that a reader never sees half
// a report, and a failure to write one (a full disk, a directory in the
// way) leaves the files that were there and no temporary one, rather than
// one report of this run beside another of an earlier one. (A rename of
// the last three that fails, in a directory where the writes just
// succeeded, could still leave them mixed.)
func WriteDir(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer, *Report) error
	}{
		{"report.json", WriteJSON}, {"report.md", WriteMarkdown}, {"report.html", WriteHTML},
	}
	var written []string // the temporary files
	defer func() {
		for _, tmp := range written {
			os.Remove(tmp)
		}
	}()
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b, r); err != nil {
			return fmt.Errorf("report: render %s: %w", f.name, err)
		}
		path := filepath.Join(dir, f.name)
		if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() { // a link to a file is replaced, as before
			return fmt.Errorf("report: %s is in the way: it is not a file (no report was written)", path)
		}
		tmp := path + ".tmp"
		written = append(written, tmp)
		if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("report: %w (no report was written)", err)
		}
	}
	for i, f := range files {
		if err := os.Rename(written[i], filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	written = nil
	return nil
}

// mdCell escapes a Markdown table cell: a pipe would end the cell, a
// line break the row, and markup (a legacy value's "<script>", an
// entity) would render as HTML.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// mdCodeCell is mdCode in a table cell: its pipes escaped (GitHub's tables
// split a row at a pipe even in a code span).
func mdCodeCell(s string) string { return strings.ReplaceAll(mdCode(s), "|", `\|`) }

// mdCode renders s as a Markdown code span, fenced by more backticks than
// any run of them in s, so that a backtick of a legacy value does not end
// the span.
func mdCode(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + strings.NewReplacer("\n", " ", "\r", " ").Replace(s) + fence
}

// WriteMarkdown writes the report as Markdown.
func WriteMarkdown(w io.Writer, r *Report) error {
	r = shown(r)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	t := r.Totals
	status := "OK: everything that must hold holds"
	if !r.OK {
		status = fmt.Sprintf("FAILED: %s finding(s) must be resolved", t.FailingCount())
	}
	if r.Kind == KindDryRun {
		status = dryRunHeadline(r)
		p("# cutover dry run: legacy %s\n\n**%s.** Nothing was written.\n\n", r.Flavor, status)
	} else {
		p("# cutover verify: legacy %s\n\n**%s.**\n\n", r.Flavor, status)
	}
	if r.Source != "" {
		p("- Source: %s\n- Target: %s\n- Generated: %s%s\n\n", mdCode(r.Source), mdCode(r.Target), r.GeneratedAt, elapsed(r))
	}
	p("## Summary\n\n| check | result |\n| --- | --- |\n")
	p("| conservation | %d/%d legacy tables hold: %s |\n", t.LegacyTablesHolding, t.LegacyTables, conservationLine(t.SourceRows, t.Dispositions))
	if r.Kind == KindVerify {
		p("| target rows | %d/%d target tables explained by the ledger and the seeds |\n", deref(t.TargetTablesHolding), deref(t.TargetTables))
		p("| content | %d/%d mappings equal by checksum |\n", deref(t.ContentEqual), deref(t.ContentChecks))
		p("| invariants | %d/%d hold |\n", deref(t.InvariantsHolding), deref(t.Invariants))
		p("| findings | %s failing, %s informational |\n", t.FailingCount(), t.InformationalCount())
	} else if c := t.Changes; c != nil {
		p("| changes | %s inserts, %s updates, %s deletes, %s unchanged, %s only in the target |\n",
			num(c.Insert), num(c.Update), num(c.Delete), num(c.Unchanged), num(c.OnlyInTarget))
	}
	if r.Room != nil {
		p("| room on the target | %s |\n", mdCell(r.Room.Text()))
	}
	if len(r.Findings) > 0 {
		p("\n## Findings\n\n| severity | check | table | key | message |\n| --- | --- | --- | --- | --- |\n")
		for _, f := range r.Findings {
			p("| %s | %s | %s | %s | %s |\n", f.Severity, f.Check, mdCell(f.Table), mdCodeCell(f.Key), mdCell(f.Message))
		}
	}
	if len(r.Reasons) > 0 {
		p("\n## Rows by reason\n\n| disposition | reason | rows |\n| --- | --- | ---: |\n")
		for _, x := range r.Reasons {
			p("| %s | %s | %s |\n", x.Disposition, mdCell(x.Reason), num(x.Rows))
		}
	}
	if len(r.RejectedRows) > 0 {
		p("\n## Rows a run would reject\n\nFix them in the source; at most 20 of each legacy table and reason.\n\n| legacy table | key | reason | message |\n| --- | --- | --- | --- |\n")
		for _, x := range r.RejectedRows {
			p("| %s | %s | %s | %s |\n", mdCell(x.LegacyTable), mdCodeCell(x.Key), mdCell(x.Reason), mdCell(x.Message))
		}
	}
	if len(r.DroppedColumns) > 0 {
		p("\n## Dropped columns\n\nThe target has no column for them: their non-NULL values in the rows a run would bring to the target.\n\n| mapping | column | non-NULL values |\n| --- | --- | ---: |\n")
		for _, c := range r.DroppedColumns {
			p("| %s | %s | %s |\n", mdCell(c.Mapping), mdCell(c.Column), num(c.NonNull))
		}
	}
	for _, d := range r.Domains {
		p("\n## %s\n\n", d.Title)
		var legacy []LegacyTable
		for _, l := range r.LegacyTables {
			if l.Domain == d.Name {
				legacy = append(legacy, l)
			}
		}
		if len(legacy) > 0 {
			p("| legacy table | target | source | loaded | merged | folded | archived | discarded | rejected | law |\n")
			p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
			for _, l := range legacy {
				p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l.Mapping, l.Target, num(l.Source), num(l.Loaded), num(l.Merged),
					num(l.Folded), num(l.Archived), num(l.Discarded), num(l.Rejected), holdsWord(l.Holds))
			}
			p("\n")
		}
		if r.Kind == KindVerify {
			p("| target table | rows | loaded | folded | seeds | unexplained | missing | content |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
		} else {
			p("| target table | insert | update | delete | unchanged | only in target |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
		}
		for _, tt := range r.TargetTables {
			if tt.Domain != d.Name {
				continue
			}
			switch {
			case tt.Rows != nil:
				p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", tt.Table, num(tt.Rows.Total), num(tt.Rows.Loaded), num(tt.Rows.Folded),
					num(tt.Rows.Seeds), num(tt.Rows.Unexplained), num(tt.Rows.Missing), contentWord(r, tt.Table))
			case tt.Changes != nil:
				c := tt.Changes
				p("| %s | %s | %s | %s | %s | %s |\n", tt.Table, num(c.Insert), num(c.Update), num(c.Delete), num(c.Unchanged), num(c.OnlyInTarget))
			}
		}
		for _, tt := range r.TargetTables {
			if tt.Domain != d.Name || tt.Changes == nil {
				continue
			}
			for _, s := range tt.Changes.Samples {
				p("\n%s %s%s:\n\n```diff\n%s\n```\n", mdCode(tt.Table), mdCode(s.Key), leftAloneNote(tt.Changes), strings.TrimRight(s.Diff, "\n"))
			}
		}
	}
	if len(r.Invariants) > 0 {
		p("\n## Invariants\n\n| check | what | violations | result |\n| --- | --- | ---: | --- |\n")
		for _, i := range r.Invariants {
			res := holdsWord(i.Holds)
			switch {
			case i.Enforced:
				res = "ok (unique index)"
			case i.Severity == "info" && !i.Holds:
				res = "finding"
			}
			p("| %s | %s | %s | %s |\n", i.Check, mdCell(i.Name), num(i.Violations), res)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// contentWord summarises the content checks of a target table.
func contentWord(r *Report, table string) string {
	n, equal := 0, 0
	for _, c := range r.Content {
		if c.Target == table {
			n++
			if c.Equal {
				equal++
			}
		}
	}
	switch {
	case n == 0:
		return "-"
	case n == equal:
		return "equal"
	}
	return fmt.Sprintf("%d/%d differ", n-equal, n)
}
