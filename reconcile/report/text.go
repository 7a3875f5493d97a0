package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/reconcile"
)

// changesPhrase names c's rows and their kinds, each noun agreeing with
// its count: "1 row (0 inserts, 1 update, 0 deletes)".
func changesPhrase(c *Changes) string {
	count := func(n int64, one, many string) string { return num(n) + " " + prose.Plural(n, one, many) }
	return fmt.Sprintf("%s (%s, %s, %s)", count(c.Total(), "row", "rows"),
		count(c.Insert, "insert", "inserts"), count(c.Update, "update", "updates"), count(c.Delete, "delete", "deletes"))
}

// dryRunHeadline is dryRunStatus of r, a dry run's report, after what
// stops a run on its target first: a seal.
func dryRunHeadline(r *Report) string {
	status := dryRunStatus(r.Totals.Changes)
	if c := r.Totals.Changes; (c == nil || c.Total() == 0) && len(r.Redo) > 0 {
		// No application row changes, but the run redoes mappings: it
		// rewrites what it keeps of their rows (archived, rejected) and
		// their ledger, which the figures do not compare.
		redo := fmt.Sprintf("%s whose inputs changed (%s)", prose.Count(len(r.Redo), "mapping", "mappings"), prose.List(r.Redo, 8))
		if len(r.Redo) == r.Mappings {
			redo = "every mapping"
		}
		status = "a run would change no application row, but it redoes " + redo +
			": what cutover.archive and cutover.rejects keep of their rows, and their ledger, may change"
	}
	var stops, unheld []string
	sealed := false
	var tooMany string
	for _, f := range r.Findings {
		switch {
		case f.Kind == reconcile.KindSealed:
			sealed = true
		case f.Kind == reconcile.KindTooManyRejects:
			tooMany, _, _ = strings.Cut(f.Message, ":")
		case f.Kind == reconcile.KindRefusedRows && !slices.Contains(stops, f.Table): // a finding per constraint
			stops = append(stops, f.Table)
		case f.Check == reconcile.CheckConservation && f.Severity == string(reconcile.Failure) && !slices.Contains(unheld, f.Table):
			unheld = append(unheld, f.Table)
		}
	}
	// What fails the dry run comes first: the rest is what a run would
	// do up to there; a seal, which refuses the run first, before all.
	if len(unheld) > 0 {
		status = fmt.Sprintf("the conservation law would not hold for %s (%s); %s", prose.Count(len(unheld), "legacy table", "legacy tables"),
			strings.Join(unheld, ", "), status)
	}
	if len(stops) > 0 {
		status = fmt.Sprintf("a run would stop: the target's constraints refuse rows it would write into %s (see the findings); until then, %s",
			strings.Join(stops, ", "), status)
	}
	if tooMany != "" {
		// It stops the run before it writes to the application tables:
		// what the rest says a run would do is without the limit.
		status = "a run would stop before it writes to the application tables: " + tooMany + "; without the limit, " + status
	}
	if sealed {
		status = "the target is sealed (it went live), and a run refuses it; unsealed, " + status
	}
	return status
}

// dryRunStatus says what a run would do, by c, a dry run's totals (nil:
// none): what a plain run writes, and apart from it the rows changed in
// the target after the cutover wrote them, which it leaves.
func dryRunStatus(c *Changes) string {
	count := func(n int64, one, many string) string { return num(n) + " " + prose.Plural(n, one, many) }
	switch {
	case c == nil || c.Total() == 0:
		return "a run would change nothing"
	case c.LeftAlone == 0:
		return "a run would write " + changesPhrase(c)
	}
	left := fmt.Sprintf("differ from what the source decides, changed in the target after the cutover wrote %s, which only `cutover run --full` writes back",
		prose.Plural(c.LeftAlone, "it", "them"))
	if c.Writes() == 0 {
		return fmt.Sprintf("a plain run would write nothing; %s %s", count(c.LeftAlone, "row", "rows"), left)
	}
	return fmt.Sprintf("a plain run would write %s; %s more %s (in all %s)",
		count(c.Writes(), "row", "rows"), count(c.LeftAlone, "row", "rows"), left, changesPhrase(c))
}

// num formats n with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func elapsed(r *Report) string {
	if r.ElapsedMS == 0 {
		return ""
	}
	return " in " + (time.Duration(r.ElapsedMS) * time.Millisecond).Round(10*time.Millisecond).String()
}

func holdsWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

// dispositionLine renders "1,234 loaded + 5 merged + …".
func dispositionLine(d Dispositions) string {
	return fmt.Sprintf("%s loaded + %s merged + %s folded + %s archived + %s discarded + %s rejected",
		num(d.Loaded), num(d.Merged), num(d.Folded), num(d.Archived), num(d.Discarded), num(d.Rejected))
}

// conservationLine renders the conservation law of source rows and their
// dispositions d: "58,910 source rows = 48,502 loaded + …", and where it
// does not hold, "≠" and the gap (a sum that looked as if it held hid it).
func conservationLine(source int64, d Dispositions) string {
	line := num(source) + " source rows = " + dispositionLine(d)
	if gap := gapNote(source, d.Sum()); gap != "" {
		line = num(source) + " source rows ≠ " + dispositionLine(d) + " (" + gap + ")"
	}
	return line
}

// gapNote says how source rows and the rows their dispositions account
// for differ ("" when they do not).
func gapNote(source, accounted int64) string {
	switch {
	case source > accounted:
		return prose.Count(source-accounted, "row", "rows") + " accounted for by nothing"
	case source < accounted:
		return prose.Count(accounted-source, "disposition", "dispositions") + " more than the source rows"
	}
	return ""
}

// WriteText writes the concise terminal summary: the totals per check and
// at most maxFindings findings (the rest are in the report files).
func WriteText(w io.Writer, r *Report, maxFindings int) error {
	r = shown(r)
	if r.Kind == KindDryRun {
		return writeDryRunText(w, r, maxFindings)
	}
	t := r.Totals
	fmt.Fprintf(w, "cutover verify: legacy %s against the target%s\n\n", r.Flavor, elapsed(r))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  conservation\t%s\t%d/%d legacy tables hold: %s\n", holdsWord(t.LegacyTablesHolding == t.LegacyTables),
		t.LegacyTablesHolding, t.LegacyTables, conservationLine(t.SourceRows, t.Dispositions))
	fmt.Fprintf(tw, "  target rows\t%s\t%d/%d target tables explained by the ledger and the seeds\n",
		holdsWord(deref(t.TargetTablesHolding) == deref(t.TargetTables)), deref(t.TargetTablesHolding), deref(t.TargetTables))
	var rows, rowByRow int64
	var buckets int
	var skipped, inGo []string
	for _, c := range r.Content {
		switch {
		case c.Skipped != "":
			skipped = append(skipped, c.Mapping)
		case c.Buckets == 0 && c.SourceRows > 0:
			// Typed again in Go and compared row by row (the text quests).
			rowByRow += c.SourceRows
			inGo = append(inGo, c.Mapping)
		default:
			rows += c.SourceRows
			buckets += c.Buckets
		}
	}
	note := ""
	if len(inGo) > 0 {
		note = fmt.Sprintf(", %s typed again in Go (%s)", num(rowByRow), strings.Join(inGo, ", "))
	}
	if len(skipped) > 0 {
		note += fmt.Sprintf(" (%s: typed in Go, keys only)", strings.Join(skipped, ", "))
	}
	fmt.Fprintf(tw, "  content\t%s\t%d/%d mappings equal, %s rows compared by checksum in %s buckets%s\n",
		holdsWord(deref(t.ContentEqual) == deref(t.ContentChecks)), deref(t.ContentEqual), deref(t.ContentChecks), num(rows), num(int64(buckets)), note)
	var keptTables, keptEqual int
	var keptRows int64
	for _, l := range r.LegacyTables {
		if l.Kept != nil {
			keptTables++
			keptRows += l.Kept.Rows
			if l.Kept.Equal {
				keptEqual++
			}
		}
	}
	if keptTables > 0 {
		fmt.Fprintf(tw, "  kept rows\t%s\t%d/%d legacy tables' archived and rejected rows equal to the legacy rows, %s compared as JSON\n",
			holdsWord(keptEqual == keptTables), keptEqual, keptTables, num(keptRows)+" "+prose.Plural(keptRows, "row", "rows"))
	}
	byCheck := map[string][2]int{}
	var order []string
	var wallet *Invariant
	for i, inv := range r.Invariants {
		if inv.Severity != "failure" {
			wallet = &r.Invariants[i]
			continue
		}
		c := byCheck[inv.Check]
		if c == [2]int{} {
			order = append(order, inv.Check)
		}
		c[1]++
		if inv.Holds {
			c[0]++
		}
		byCheck[inv.Check] = c
	}
	var parts []string
	allHold := true
	for _, k := range order {
		c := byCheck[k]
		parts = append(parts, fmt.Sprintf("%s %d/%d", strings.ReplaceAll(k, "_", " "), c[0], c[1]))
		allHold = allHold && c[0] == c[1]
	}
	fmt.Fprintf(tw, "  invariants\t%s\t%s\n", holdsWord(allHold), strings.Join(parts, " · "))
	if wallet != nil {
		fmt.Fprintf(tw, "  wallets\tinfo\t%d of %d wallets differ from their ledger sum (a finding, not a failure)\n", wallet.Violations, wallet.Rows)
	}
	tw.Flush()
	writeFindingsText(w, r, maxFindings)
	if r.OK {
		fmt.Fprintln(w, "\nverify: OK, everything that must hold holds")
	} else {
		fmt.Fprintf(w, "\nverify: FAILED, %s finding(s) must be resolved\n", t.FailingCount())
	}
	return nil
}

func writeFindingsText(w io.Writer, r *Report, maxFindings int) {
	if len(r.Findings) == 0 {
		return
	}
	fmt.Fprintf(w, "\nFINDINGS (%s failing, %s informational)\n", r.Totals.FailingCount(), r.Totals.InformationalCount())
	if r.Totals.FailuresUnlisted+r.Totals.InformationalUnlisted > 0 {
		fmt.Fprintf(w, "  (at most --samples of each check, kind and table are listed; the checks above count them all)\n")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, f := range r.Findings {
		if i == maxFindings {
			fmt.Fprintf(tw, "  …\t%d more in report.json (--report-dir)\n", len(r.Findings)-maxFindings)
			break
		}
		sev := "info"
		if f.Severity == "failure" {
			sev = "FAIL"
		}
		key := f.Key
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", sev, f.Check, f.Table, key, f.Message)
	}
	tw.Flush()
}

func writeDryRunText(w io.Writer, r *Report, maxSamples int) error {
	c := r.Totals.Changes
	if c == nil {
		c = &Changes{}
	}
	fmt.Fprintf(w, "cutover dry run: legacy %s, nothing was written%s\n\n", r.Flavor, elapsed(r))
	// Numbers right-aligned, names left-aligned (padded to one width).
	width := len("TARGET TABLE")
	for _, t := range r.TargetTables {
		width = max(width, len(t.Table))
	}
	pad := func(s string) string { return fmt.Sprintf("%-*s", width, s) }
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tINSERT\tUPDATE\tDELETE\tUNCHANGED\tONLY IN TARGET\t\n", pad("TARGET TABLE"))
	quiet := 0
	for _, t := range r.TargetTables {
		ch := t.Changes
		if ch == nil || ch.Total() == 0 {
			quiet++
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", pad(t.Table), num(ch.Insert), num(ch.Update), num(ch.Delete), num(ch.Unchanged), num(ch.OnlyInTarget))
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", pad("total"), num(c.Insert), num(c.Update), num(c.Delete), num(c.Unchanged), num(c.OnlyInTarget))
	tw.Flush()
	if quiet > 0 {
		fmt.Fprintf(w, "(%s would not change)\n", prose.Count(quiet, "more target table", "more target tables"))
	}
	t := r.Totals
	fmt.Fprintf(w, "\nconservation preview: %d/%d legacy tables hold: %s\n",
		t.LegacyTablesHolding, t.LegacyTables, conservationLine(t.SourceRows, t.Dispositions))
	if r.Room != nil {
		fmt.Fprintf(w, "room on the target: %s\n", r.Room.Text())
	}
	for _, l := range r.LegacyTables {
		if !l.Holds {
			fmt.Fprintf(w, "  FAIL %s: source %s ≠ %s\n", l.Table, num(l.Source), num(l.Sum()))
		}
	}
	refused := false
	for _, f := range r.Findings {
		if f.Kind != reconcile.KindRefusedRows {
			continue
		}
		if !refused {
			fmt.Fprintln(w, "\nTHE TARGET REFUSES ROWS A RUN WOULD LOAD (the run would stop there; nothing of that mapping would be written)")
			refused = true
		}
		fmt.Fprintf(w, "  FAIL %s: %s\n", f.Table, f.Message)
	}
	if len(r.Reasons) > 0 {
		fmt.Fprintln(w, "\nREJECTS AND OTHER DISPOSITIONS BY REASON")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		// The 12 largest, and every reason rows would be rejected for:
		// the rows to fix (a rare root cause, a duplicate email, rejects
		// many rows' children).
		hidden := 0
		for i, x := range r.Reasons {
			if i >= 12 && x.Disposition != "rejected" {
				hidden++
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.Disposition, x.Reason, num(x.Rows))
		}
		if hidden > 0 {
			fmt.Fprintf(tw, "  …\t%s in report.json (--report-dir)\n", prose.Count(hidden, "more reason", "more reasons"))
		}
		tw.Flush()
	}
	if len(r.RejectedRows) > 0 {
		fmt.Fprintln(w, "\nROWS A RUN WOULD REJECT (fix them in the source)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for i, x := range r.RejectedRows {
			if i == maxSamples {
				fmt.Fprintf(tw, "  …\t%d more in report.json (--report-dir; at most 20 of each table and reason)\n", len(r.RejectedRows)-i)
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", x.LegacyTable, x.Key, x.Reason, x.Message)
		}
		tw.Flush()
	}
	if len(r.DroppedColumns) > 0 {
		fmt.Fprintln(w, "\nDROPPED COLUMNS (the target has no column for them: non-NULL values in rows a run would bring to the target)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range r.DroppedColumns {
			fmt.Fprintf(tw, "  %s.%s\t%s\n", c.Mapping, c.Column, num(c.NonNull))
		}
		tw.Flush()
	}
	shown := 0
	for _, tt := range r.TargetTables {
		if tt.Changes == nil {
			continue
		}
		for _, s := range tt.Changes.Samples {
			if shown == maxSamples {
				break
			}
			if shown == 0 {
				fmt.Fprintln(w, "\nSAMPLE UPDATES (-target +what the run would write)")
			}
			shown++
			fmt.Fprintf(w, "  %s %s%s:\n", tt.Table, s.Key, leftAloneNote(tt.Changes))
			for _, l := range strings.Split(strings.TrimRight(s.Diff, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	var left []Finding
	for _, f := range r.Findings {
		if f.Check == reconcile.CheckRerun {
			left = append(left, f)
		}
	}
	if len(left) > 0 {
		fmt.Fprintln(w, "\nCHANGED IN THE TARGET AFTER THE CUTOVER WROTE IT (a plain `cutover run` leaves these; `cutover run --full` writes them back)")
		for _, f := range left {
			fmt.Fprintf(w, "  %s: %s\n", f.Table, f.Message)
		}
	}
	headline := dryRunHeadline(r)
	if c.Total() == 0 && len(r.Redo) == 0 {
		headline += ": the target already equals the source"
	}
	for _, f := range r.Findings {
		if f.Kind == reconcile.KindTooManyRejects {
			fmt.Fprintf(w, "\nFAIL --max-rejects: %s\n", f.Message)
		}
	}
	fmt.Fprintf(w, "\ndry run: %s\n", headline)
	return nil
}

// leftAloneNote is what a sample of a table's changes c says when a plain
// run leaves them (its mappings are not redone: LeftAlone counts the whole
// table's changes), "" otherwise.
func leftAloneNote(c *Changes) string {
	if c == nil || c.LeftAlone == 0 {
		return ""
	}
	return " (a plain run leaves this table as it is; `cutover run --full` writes this)"
}
