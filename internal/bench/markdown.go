package bench

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// WriteMarkdown writes the report's scale, machine, measurements and
// targets as Markdown, the form of the README's results: a line on what
// was measured where, the table of (a) to (h), the table of targets and,
// when the run was profiled, the table of where its time went.
// It writes the report's own figures and verdicts and nothing else: the
// README's tables are this output of a committed report.
func (r *Report) WriteMarkdown(w io.Writer) {
	p := message.NewPrinter(language.English) // thousands separators
	p.Fprintf(w, "%d legacy rows in %d tables (%.1f MB of table data, %d users, seed %d), %d workers, started %s.\n",
		r.Rows, r.Tables, float64(r.Bytes)/1e6, r.Users, r.Seed, r.Workers, r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Machine: %s.\n\n", r.Machine)

	fmt.Fprintln(w, "| measurement | wall | rows/s | MB/s | × raw | peak RSS | load |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|")
	var notes []string
	for i, ms := range r.Measurements() {
		name := fmt.Sprintf("(%c) %s", 'a'+i, ms.Name)
		if !ms.ok() {
			fmt.Fprintf(w, "| %s | %s | | | | | |\n", name, ms.Status)
			if ms.Note != "" {
				notes = append(notes, fmt.Sprintf("(%c) %s: %s", 'a'+i, ms.Status, firstLine(ms.Note)))
			}
			continue
		}
		rss := "–"
		if ms.PeakRSSKiB > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(ms.PeakRSSKiB)/1024)
		}
		p.Fprintf(w, "| %s | %s | %.0f | %.1f | %.2f | %s | %.1f |\n", name, wall(ms.Wall), ms.RowsPerSec, ms.MBPerSec, ms.VsRaw, rss, ms.LoadAvg)
		if ms.Note != "" { // as the text says it: pgcopydb's RSS is its main process's
			notes = append(notes, fmt.Sprintf("(%c) %s", 'a'+i, firstLine(ms.Note)))
		}
	}
	if r.Change != "" {
		notes = append(notes, "(f) the change: "+r.Change)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | want | got | result |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, t := range r.Targets {
		result := t.Result
		if result == "PASS" || result == "MISS" {
			result = "**" + result + "**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, result)
	}

	if pr := r.Run.Phases; pr != nil && r.Run.ok() {
		fmt.Fprintf(w, "\nWhere the run's time went (`pg_stat_activity` on both servers sampled every %s, %d samples; conn-s are connection-seconds):\n\n",
			pr.Every, pr.Samples)
		fmt.Fprintln(w, "| phase | wall | share | conn-s | from | to |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
		for _, ph := range pr.Phases {
			fmt.Fprintf(w, "| %s | %s | %.1f%% | %.1f | %s | %s |\n", ph.Name, wall(ph.Wall),
				100*ph.Wall.D().Seconds()/r.Run.Wall.D().Seconds(), ph.Busy.D().Seconds(), wall(ph.First), wall(ph.Last))
		}
	}
}

// wall renders a wall time as the README writes it: "3.76 s" under a
// minute, "1m2.4s" from one on.
func wall(s Seconds) string {
	v := s.String()
	if before, ok := strings.CutSuffix(v, "s"); ok && !strings.ContainsAny(before, "hm") {
		return before + " s"
	}
	return v
}
