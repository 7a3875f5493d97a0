package report

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
)

// The HTML report is one self-contained, well-formed (XHTML-compatible)
// file: inline CSS, inline SVG charts, no script, no font, no link to
// anything outside it.

var colors = map[string]string{
	"loaded": "#2f7d4f", "merged": "#4f7fd8", "folded": "#8a63c9",
	"archived": "#8f99a3", "discarded": "#d49a2a", "rejected": "#cc3d52",
	"insert": "#2f7d4f", "update": "#4f7fd8", "delete": "#cc3d52",
}

type seg struct {
	X, W  float64
	Y     int
	Color string
	Title string
}

type barRow struct {
	Label string
	Y     int
	Total string
	Segs  []seg
	Fail  bool
}

type legendItem struct {
	X     int
	Color string
	Label string
}

type chart struct {
	Width, Height int
	LabelW        int
	BarW          int
	Rows          []barRow
	Legend        []legendItem
	LegendY       int
}

func (d Dispositions) values() []int64 {
	return []int64{d.Loaded, d.Merged, d.Folded, d.Archived, d.Discarded, d.Rejected}
}

// dispositionChart draws one 100 % stacked bar per domain (and one for all
// legacy rows): where every legacy row went.
func dispositionChart(r *Report) chart {
	c := chart{Width: 940, LabelW: 190, BarW: 620}
	rows := []struct {
		label string
		d     Dispositions
		total int64
		fail  bool
	}{{"all legacy rows", r.Totals.Dispositions, r.Totals.SourceRows, r.Totals.LegacyTablesHolding != r.Totals.LegacyTables}}
	for _, d := range r.Domains {
		if d.LegacyTables > 0 {
			rows = append(rows, struct {
				label string
				d     Dispositions
				total int64
				fail  bool
			}{d.Title, d.Dispositions, d.SourceRows, !d.Holds})
		}
	}
	y := 8
	for i, row := range rows {
		sum := row.d.Sum()
		b := barRow{Label: row.label, Y: y, Total: num(row.total) + " rows", Fail: row.fail}
		if gap := gapNote(row.total, sum); gap != "" {
			b.Total += ", " + gap
		}
		x := float64(c.LabelW)
		for j, v := range row.d.values() {
			if v == 0 || sum == 0 {
				continue
			}
			w := float64(c.BarW) * float64(v) / float64(sum)
			name := string(dispositionOrder[j])
			b.Segs = append(b.Segs, seg{X: x, W: w, Y: y, Color: colors[name],
				Title: fmt.Sprintf("%s: %s %s (%.1f %%)", row.label, num(v), name, 100*float64(v)/float64(sum))})
			x += w
		}
		c.Rows = append(c.Rows, b)
		y += 26
		if i == 0 {
			y += 10
		}
	}
	c.LegendY = y + 14
	for j, d := range dispositionOrder {
		c.Legend = append(c.Legend, legendItem{X: c.LabelW + j*104, Color: colors[string(d)], Label: string(d)})
	}
	c.Height = c.LegendY + 12
	return c
}

// reasonChart draws one bar per (disposition, reason), scaled to the
// largest.
func reasonChart(r *Report) chart {
	c := chart{Width: 940, LabelW: 300, BarW: 520}
	var top int64
	for _, x := range r.Reasons {
		top = max(top, x.Rows)
	}
	y := 8
	for _, x := range r.Reasons {
		w := 0.0
		if top > 0 {
			w = max(2, float64(c.BarW)*float64(x.Rows)/float64(top))
		}
		label := x.Disposition + ": " + x.Reason
		if x.Reason == "" {
			label = x.Disposition
		}
		c.Rows = append(c.Rows, barRow{Label: label, Y: y, Total: num(x.Rows), Segs: []seg{{
			X: float64(c.LabelW), W: w, Y: y, Color: colors[x.Disposition], Title: fmt.Sprintf("%s: %s rows", label, num(x.Rows))}}})
		y += 24
	}
	c.Height = y + 4
	return c
}

type domainView struct {
	Domain
	Legacy  []LegacyTable
	Targets []TargetTable
	Content []Content
	Failing int
}

type htmlView struct {
	*Report
	Title         string
	Status        string
	Dispositions  chart
	ReasonsChart  chart
	DomainViews   []domainView
	Failures      []Finding
	Infos         []Finding
	BadInvariants []Invariant
	InvariantSums []invariantSum
	ContentRows   int64
}

type invariantSum struct {
	Check          string
	Holding, Total int
	Note           string
}

func buildView(r *Report) htmlView {
	v := htmlView{Report: r, Dispositions: dispositionChart(r), ReasonsChart: reasonChart(r)}
	switch {
	case r.Kind == KindDryRun:
		v.Title = "cutover dry run"
		v.Status = dryRunHeadline(r)
	case r.OK:
		v.Title, v.Status = "cutover verify", "everything that must hold holds"
	default:
		v.Title, v.Status = "cutover verify", fmt.Sprintf("%s finding(s) must be resolved", r.Totals.FailingCount())
	}
	for _, f := range r.Findings {
		if f.Severity == "failure" {
			v.Failures = append(v.Failures, f)
		} else {
			v.Infos = append(v.Infos, f)
		}
	}
	for _, c := range r.Content {
		v.ContentRows += c.SourceRows
	}
	sums := map[string]*invariantSum{}
	var order []string
	for _, i := range r.Invariants {
		s := sums[i.Check]
		if s == nil {
			s = &invariantSum{Check: strings.ReplaceAll(i.Check, "_", " ")}
			sums[i.Check] = s
			order = append(order, i.Check)
		}
		s.Total++
		if i.Holds {
			s.Holding++
		}
		if i.Severity == "info" {
			s.Note = fmt.Sprintf("%s of %s differ: a finding, not a failure", num(i.Violations), num(i.Rows))
		}
		if !i.Holds && i.Severity == "failure" {
			v.BadInvariants = append(v.BadInvariants, i)
		}
	}
	for _, k := range order {
		v.InvariantSums = append(v.InvariantSums, *sums[k])
	}
	for _, d := range r.Domains {
		dv := domainView{Domain: d}
		for _, l := range r.LegacyTables {
			if l.Domain == d.Name {
				dv.Legacy = append(dv.Legacy, l)
			}
		}
		slices.SortFunc(dv.Legacy, func(a, b LegacyTable) int { return strings.Compare(a.Table, b.Table) })
		for _, t := range r.TargetTables {
			if t.Domain == d.Name {
				dv.Targets = append(dv.Targets, t)
			}
		}
		for _, c := range r.Content {
			if c.Domain == d.Name {
				dv.Content = append(dv.Content, c)
			}
		}
		slices.SortFunc(dv.Content, func(a, b Content) int { return strings.Compare(a.Mapping, b.Mapping) })
		for _, f := range v.Failures {
			if f.Domain == d.Name {
				dv.Failing++
			}
		}
		v.DomainViews = append(v.DomainViews, dv)
	}
	return v
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":   num,
	"num32": func(n int) string { return num(int64(n)) },
	"f1":    func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"join":  strings.Join,
	"deref": deref,
	"bytes": byteSize,
	"add":   func(a, b int) int { return a + b },
	"ok": func(b bool) string {
		if b {
			return "ok"
		}
		return "FAIL"
	},
	"color": func(k string) string { return colors[k] },
}).Parse(htmlSource))

// WriteHTML writes the report as one self-contained HTML file.
func WriteHTML(w io.Writer, r *Report) error {
	return htmlTemplate.Execute(w, buildView(shown(r)))
}
