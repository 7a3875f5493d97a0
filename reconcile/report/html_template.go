package report

// htmlSource is the template of report.html. It must stay well-formed XML
// (every element closed, attributes quoted, no named entities but the five
// of XML): tests parse it with encoding/xml.
const htmlSource = `<!DOCTYPE html>
<html lang="en" xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}: legacy {{.Flavor}}: {{.Status}}</title>
<style>
:root { --ok: #2f7d4f; --fail: #cc3d52; --ink: #1d2430; --muted: #5d6775; --line: #e2e6eb; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1000px; margin: 0 auto; padding: 24px 24px 48px; }
header { border-radius: 10px; padding: 18px 22px; color: #fff; background: var(--ok); }
header.fail { background: var(--fail); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .92; }
.badge { display: inline-block; padding: 1px 9px; margin-left: 8px; border-radius: 12px; background: rgba(255,255,255,.22); font-size: 14px; vertical-align: middle; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card b { display: block; font-size: 20px; }
.card.bad b { color: var(--fail); }
.card span { color: var(--muted); font-size: 12px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 14px 0; }
h2 { font-size: 17px; margin: 0 0 10px; }
h2 small { font-weight: normal; color: var(--muted); font-size: 13px; }
h3 { font-size: 13px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.fail, span.fail { color: var(--fail); font-weight: 600; }
td.good { color: var(--ok); }
td.key { font: 11.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: nowrap; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--bg); padding: 8px; border-radius: 6px; overflow-x: auto; margin: 4px 0 10px; }
svg text { font: 12px -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #1d2430; }
svg text.fail { fill: #cc3d52; font-weight: 600; }
svg text.total { fill: #5d6775; }
.muted { color: var(--muted); }
.legend { margin: 6px 0 0; color: var(--muted); font-size: 12px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; }
</style>
</head>
<body>
<main>
<header class="{{if .OK}}ok{{else}}fail{{end}}">
<h1>{{.Title}}<span class="badge">{{if eq .Kind "dry_run"}}{{if .OK}}nothing written{{else}}FAIL{{end}}{{else}}{{if .OK}}OK{{else}}FAILED{{end}}{{end}}</span></h1>
<p>Legacy {{.Flavor}}: {{.Status}}.{{if .Source}} Source {{.Source}}, target {{.Target}}, generated {{.GeneratedAt}}.{{end}}</p>
</header>

<div class="cards">
<div class="card{{if ne .Totals.LegacyTablesHolding .Totals.LegacyTables}} bad{{end}}"><b>{{.Totals.LegacyTablesHolding}}/{{.Totals.LegacyTables}}</b><span>legacy tables hold the conservation law</span></div>
<div class="card"><b>{{num .Totals.SourceRows}}</b><span>legacy rows, each with one disposition</span></div>
{{- if eq .Kind "verify"}}
<div class="card{{if ne (deref .Totals.TargetTablesHolding) (deref .Totals.TargetTables)}} bad{{end}}"><b>{{deref .Totals.TargetTablesHolding}}/{{deref .Totals.TargetTables}}</b><span>target tables explained by ledger and seeds</span></div>
<div class="card{{if ne (deref .Totals.ContentEqual) (deref .Totals.ContentChecks)}} bad{{end}}"><b>{{deref .Totals.ContentEqual}}/{{deref .Totals.ContentChecks}}</b><span>mappings equal by checksum ({{num .ContentRows}} rows)</span></div>
<div class="card{{if ne (deref .Totals.InvariantsHolding) (deref .Totals.Invariants)}} bad{{end}}"><b>{{deref .Totals.InvariantsHolding}}/{{deref .Totals.Invariants}}</b><span>invariants hold</span></div>
<div class="card{{if .Totals.Failures}} bad{{end}}"><b>{{.Totals.FailingCount}}</b><span>failing findings, {{.Totals.InformationalCount}} informational</span></div>
{{- else}}{{with .Totals.Changes}}
<div class="card"><b>{{num .Insert}}</b><span>rows to insert</span></div>
<div class="card"><b>{{num .Update}}</b><span>rows to update</span></div>
<div class="card"><b>{{num .Delete}}</b><span>rows to delete</span></div>
<div class="card"><b>{{num .Unchanged}}</b><span>rows already right</span></div>
{{- end}}{{with .Room}}
<div class="card"><b>{{bytes .Taken}}</b><span>room the dry run took on the target (a run needs more)</span></div>
{{- end}}{{end}}
</div>

<section id="dispositions">
<h2>Where every legacy row went <small>source = loaded + merged + folded + archived + discarded + rejected</small></h2>
<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {{.Dispositions.Width}} {{.Dispositions.Height}}" role="img">
<title>Dispositions of the legacy rows, per domain</title>
{{- range .Dispositions.Rows}}
<text x="0" y="{{add .Y 13}}"{{if .Fail}} class="fail"{{end}}>{{.Label}}</text>
{{- range .Segs}}
<rect x="{{f1 .X}}" y="{{.Y}}" width="{{f1 .W}}" height="18" fill="{{.Color}}"><title>{{.Title}}</title></rect>
{{- end}}
<text x="{{add $.Dispositions.LabelW (add $.Dispositions.BarW 8)}}" y="{{add .Y 13}}" class="total">{{.Total}}</text>
{{- end}}
{{- range .Dispositions.Legend}}
<rect x="{{.X}}" y="{{$.Dispositions.LegendY}}" width="11" height="11" fill="{{.Color}}"/>
<text x="{{add .X 15}}" y="{{add $.Dispositions.LegendY 10}}">{{.Label}}</text>
{{- end}}
</svg>
</section>

{{if .Reasons}}<section id="reasons">
<h2>Rejected, archived, discarded and merged rows by reason <small>the rejected rows are kept in cutover.rejects with the original row</small></h2>
<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {{.ReasonsChart.Width}} {{.ReasonsChart.Height}}" role="img">
<title>Rows by disposition and reason</title>
{{- range .ReasonsChart.Rows}}
<text x="0" y="{{add .Y 13}}">{{.Label}}</text>
{{- range .Segs}}
<rect x="{{f1 .X}}" y="{{.Y}}" width="{{f1 .W}}" height="17" fill="{{.Color}}"><title>{{.Title}}</title></rect>
{{- end}}
<text x="{{add $.ReasonsChart.LabelW (add $.ReasonsChart.BarW 8)}}" y="{{add .Y 13}}" class="total">{{.Total}}</text>
{{- end}}
</svg>
{{if .RejectedRows}}<h3>Rows a run would reject <small>fix them in the source; at most 20 of each table and reason</small></h3>
<table><thead><tr><th>legacy table</th><th>key</th><th>reason</th><th>message</th></tr></thead><tbody>
{{- range .RejectedRows}}
<tr><td>{{.LegacyTable}}</td><td class="key">{{.Key}}</td><td>{{.Reason}}</td><td>{{.Message}}</td></tr>
{{- end}}
</tbody></table>{{end}}
</section>{{end}}

{{if .DroppedColumns}}<section id="dropped-columns">
<h2>Dropped columns <small>the target has no column for them: non-NULL values in the rows a run would bring to the target</small></h2>
<table><thead><tr><th>mapping</th><th>column</th><th>non-NULL values</th></tr></thead><tbody>
{{- range .DroppedColumns}}
<tr><td>{{.Mapping}}</td><td>{{.Column}}</td><td class="n">{{num .NonNull}}</td></tr>
{{- end}}
</tbody></table>
</section>{{end}}

{{if or (eq .Kind "verify") .Findings}}<section id="findings">
<h2>Findings <small>{{.Totals.FailingCount}} failing, {{.Totals.InformationalCount}} informational</small></h2>
{{if .Failures}}<h3>Must be resolved</h3>
<table><thead><tr><th>check</th><th>table</th><th>key</th><th>what</th></tr></thead><tbody>
{{- range .Failures}}
<tr><td class="fail">{{.Check}}</td><td>{{.Table}}</td><td class="key">{{.Key}}</td><td>{{.Message}}{{if .Columns}} <span class="muted">(columns: {{join .Columns ", "}})</span>{{end}}</td></tr>
{{- end}}
</tbody></table>{{else}}<p>None: everything that must hold holds.</p>{{end}}
{{if .Infos}}<h3>For information</h3>
<table><thead><tr><th>check</th><th>table</th><th>key</th><th>what</th></tr></thead><tbody>
{{- range .Infos}}
<tr><td>{{.Check}}</td><td>{{.Table}}</td><td class="key">{{.Key}}</td><td>{{.Message}}</td></tr>
{{- end}}
</tbody></table>{{end}}
</section>{{end}}

{{if eq .Kind "verify"}}<section id="invariants">
<h2>Invariants</h2>
<table><thead><tr><th>check</th><th class="n">hold</th><th>note</th></tr></thead><tbody>
{{- range .InvariantSums}}
<tr><td>{{.Check}}</td><td class="n">{{if .Note}}info{{else}}{{.Holding}}/{{.Total}}{{end}}</td><td class="muted">{{.Note}}</td></tr>
{{- end}}
</tbody></table>
{{if .BadInvariants}}<h3>Violated</h3>
<table><thead><tr><th>check</th><th>rule</th><th class="n">violations</th></tr></thead><tbody>
{{- range .BadInvariants}}
<tr><td class="fail">{{.Check}}</td><td>{{.Name}}</td><td class="n">{{num .Violations}}</td></tr>
{{- end}}
</tbody></table>{{end}}
</section>{{end}}

{{range .DomainViews}}<section id="domain-{{.Name}}">
<h2>{{.Title}} <small>{{.LegacyTables}} legacy tables, {{num .SourceRows}} rows{{if .Failing}} · <span class="fail">{{.Failing}} failing</span>{{end}}</small></h2>
{{if .Legacy}}<h3>Legacy tables</h3>
<table><thead><tr><th>legacy table</th><th>into</th><th class="n">source</th><th class="n">loaded</th><th class="n">merged</th><th class="n">folded</th><th class="n">archived</th><th class="n">discarded</th><th class="n">rejected</th><th>law</th></tr></thead><tbody>
{{- range .Legacy}}
<tr><td>{{.Mapping}}</td><td>{{.Target}}</td><td class="n">{{num .Source}}</td><td class="n">{{num .Loaded}}</td><td class="n">{{num .Merged}}</td><td class="n">{{num .Folded}}</td><td class="n">{{num .Archived}}</td><td class="n">{{num .Discarded}}</td><td class="n">{{num .Rejected}}</td><td class="{{if .Holds}}good{{else}}fail{{end}}">{{ok .Holds}}</td></tr>
{{- end}}
</tbody></table>{{end}}
{{if .Targets}}<h3>Target tables</h3>
{{if eq $.Kind "verify"}}<table><thead><tr><th>target table</th><th class="n">rows</th><th class="n">loaded</th><th class="n">folded</th><th class="n">seeds</th><th class="n">unexplained</th><th class="n">missing</th><th>result</th></tr></thead><tbody>
{{- range .Targets}}{{$t := .}}{{with .Rows}}
<tr><td>{{$t.Table}}</td><td class="n">{{num .Total}}</td><td class="n">{{num .Loaded}}</td><td class="n">{{num .Folded}}</td><td class="n">{{num .Seeds}}</td><td class="n">{{num .Unexplained}}</td><td class="n">{{num .Missing}}</td><td class="{{if .Holds}}good{{else}}fail{{end}}">{{ok .Holds}}</td></tr>
{{- end}}{{end}}
</tbody></table>{{else}}<table><thead><tr><th>target table</th><th class="n">insert</th><th class="n">update</th><th class="n">delete</th><th class="n">unchanged</th><th class="n">only in target</th></tr></thead><tbody>
{{- range .Targets}}{{$t := .}}{{with .Changes}}
<tr><td>{{$t.Table}}</td><td class="n">{{num .Insert}}</td><td class="n">{{num .Update}}</td><td class="n">{{num .Delete}}</td><td class="n">{{num .Unchanged}}</td><td class="n">{{num .OnlyInTarget}}</td></tr>
{{- end}}{{end}}
</tbody></table>
{{- range .Targets}}{{$t := .}}{{with .Changes}}{{range .Samples}}
<p class="muted">{{$t.Table}} {{.Key}}{{if $t.Changes.LeftAlone}} (a plain run leaves this table as it is; <code>cutover run --full</code> writes this){{end}} (-target +what the run would write):</p>
<pre>{{.Diff}}</pre>
{{- end}}{{end}}{{end}}{{end}}{{end}}
{{if .Content}}<h3>Content checksums</h3>
<table><thead><tr><th>mapping</th><th>into</th><th class="n">rows</th><th class="n">missing</th><th class="n">extra</th><th class="n">changed</th><th>columns compared</th><th>result</th></tr></thead><tbody>
{{- range .Content}}{{if .Skipped}}
<tr><td>{{.Mapping}}</td><td>{{.Target}}</td><td class="n"></td><td class="n"></td><td class="n"></td><td class="n"></td><td class="muted">{{.Skipped}}</td><td class="muted">not compared</td></tr>{{else}}
<tr><td>{{.Mapping}}</td><td>{{.Target}}</td><td class="n">{{num .SourceRows}}</td><td class="n">{{num .Missing}}</td><td class="n">{{num .Extra}}</td><td class="n">{{num .Changed}}</td><td class="muted">{{len .Columns}}{{if .Computed}} ({{len .Computed}} computed){{end}}{{if .NotCompared}}; not compared: {{join .NotCompared ", "}}{{end}}</td><td class="{{if .Equal}}good{{else}}fail{{end}}">{{if .Equal}}equal{{else}}DIFFERS{{end}}</td></tr>{{end}}
{{- end}}
</tbody></table>{{end}}
</section>{{end}}

<footer>Written by cutover. The same figures are in report.json (schema_version {{.SchemaVersion}}, documented in docs/report-schema.md). This file is self-contained: it loads nothing.</footer>
</main>
</body>
</html>
`
