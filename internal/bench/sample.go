package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// Profile says where a command's time went, from samples of the active
// queries on both servers.
type Profile struct {
	Every   Seconds `json:"every_seconds"`
	Samples int     `json:"samples"`
	Phases  []Phase `json:"phases"`
}

// Phase is one kind of work (a class of queries, see classify).
type Phase struct {
	Name string `json:"name"`
	// Wall is the time this phase was the busiest on the two servers
	// together; the walls of a profile add up to the command's time.
	Wall Seconds `json:"wall_seconds"`
	// Busy is the connection-seconds spent in its queries (Busy/Wall is
	// the parallelism it reached).
	Busy Seconds `json:"busy_seconds"`
	// First and Last are when it was first and last seen, from the start.
	First Seconds `json:"first_seconds"`
	Last  Seconds `json:"last_seconds"`
	// Waits are the commonest states of its backends: "CPU" (no wait
	// event) or the wait event, e.g. "Client:ClientRead".
	Waits []Wait `json:"waits,omitempty"`
	// Statements are its costliest statements by busy time, named by verb
	// and relation (see statement), at most 8.
	Statements []Statement `json:"statements,omitempty"`
}

// Statement is a kind of statement and the connection-seconds it took.
type Statement struct {
	Name string  `json:"name"`
	Busy Seconds `json:"busy_seconds"`
}

// Wait is a wait state and its share of a phase's busy samples.
type Wait struct {
	Event string  `json:"event"`
	Share float64 `json:"share"`
}

// IdlePhase is the time no query of the command ran on either server:
// work in the client, or between statements.
const IdlePhase = "no query running (client side)"

type phaseAcc struct {
	Phase
	waits map[string]time.Duration
	stmts map[string]time.Duration
}

func newAcc(name string, first time.Duration) *phaseAcc {
	return &phaseAcc{Phase: Phase{Name: name, First: Seconds(first)}, waits: map[string]time.Duration{}, stmts: map[string]time.Duration{}}
}

type sampler struct {
	conns  []*pgx.Conn
	every  time.Duration
	start  time.Time
	cancel context.CancelFunc
	done   chan *Profile
}

// startSampler connects to the source and the target database and samples
// their active queries every `every` until stop.
func startSampler(ctx context.Context, every time.Duration, sourceURL, targetURL string) (*sampler, error) {
	s := &sampler{every: every, done: make(chan *Profile, 1)}
	for i, u := range []string{sourceURL, targetURL} {
		c, err := dburl.Connect(ctx, []string{"source", "target"}[i], u)
		if err != nil {
			s.closeConns()
			return nil, err
		}
		s.conns = append(s.conns, c)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.start = time.Now()
	go s.loop(sctx)
	return s, nil
}

func (s *sampler) closeConns() {
	for _, c := range s.conns {
		c.Close(context.Background())
	}
}

// stop ends the sampling and returns the profile.
func (s *sampler) stop() *Profile {
	s.cancel()
	p := <-s.done
	s.closeConns()
	return p
}

const activeQuery = `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), query
	FROM pg_stat_activity
	WHERE state = 'active' AND datname = current_database() AND pid <> pg_backend_pid()
		AND backend_type = 'client backend'`

func (s *sampler) loop(ctx context.Context) {
	acc := map[string]*phaseAcc{}
	samples := 0
	prev := s.start
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.done <- finishProfile(acc, samples, s.every)
			return
		case <-tick.C:
		}
		now := time.Now()
		dt := now.Sub(prev)
		prev = now
		counts := map[string]int{}
		var order []string
		for i, c := range s.conns {
			rows, err := c.Query(ctx, activeQuery)
			if err != nil {
				continue // the sample is lost, not the profile
			}
			for rows.Next() {
				var wait, q string
				if rows.Scan(&wait, &q) != nil {
					continue
				}
				name := classify(i == 0, q)
				a := acc[name]
				if a == nil {
					a = newAcc(name, now.Sub(s.start))
					acc[name] = a
				}
				a.Busy += Seconds(dt)
				a.Last = Seconds(now.Sub(s.start))
				a.waits[wait] += dt
				a.stmts[statement(q)] += dt
				if counts[name] == 0 {
					order = append(order, name)
				}
				counts[name]++
			}
			rows.Close()
		}
		samples++
		busiest := IdlePhase
		for _, name := range order {
			if counts[name] > counts[busiest] {
				busiest = name
			}
		}
		a := acc[busiest]
		if a == nil {
			a = newAcc(busiest, now.Sub(s.start))
			acc[busiest] = a
		}
		a.Wall += Seconds(dt)
		if busiest == IdlePhase {
			a.Last = Seconds(now.Sub(s.start))
		}
	}
}

func finishProfile(acc map[string]*phaseAcc, samples int, every time.Duration) *Profile {
	p := &Profile{Every: Seconds(every), Samples: samples}
	for _, a := range acc {
		ph := a.Phase
		var total time.Duration
		for _, d := range a.waits {
			total += d
		}
		for ev, d := range a.waits {
			ph.Waits = append(ph.Waits, Wait{Event: ev, Share: float64(d) / float64(total)})
		}
		slices.SortFunc(ph.Waits, func(x, y Wait) int { return cmp.Or(cmp.Compare(y.Share, x.Share), cmp.Compare(x.Event, y.Event)) })
		if len(ph.Waits) > 3 {
			ph.Waits = ph.Waits[:3]
		}
		for name, d := range a.stmts {
			ph.Statements = append(ph.Statements, Statement{Name: name, Busy: Seconds(d)})
		}
		slices.SortFunc(ph.Statements, func(x, y Statement) int { return cmp.Or(cmp.Compare(y.Busy, x.Busy), cmp.Compare(x.Name, y.Name)) })
		if len(ph.Statements) > 8 {
			ph.Statements = ph.Statements[:8]
		}
		p.Phases = append(p.Phases, ph)
	}
	slices.SortFunc(p.Phases, func(x, y Phase) int { return cmp.Or(cmp.Compare(x.First, y.First), cmp.Compare(x.Name, y.Name)) })
	return p
}

func (p *Profile) writeText(w io.Writer, wall time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tWALL\tSHARE\tCONN-S\tPARALLEL\tFROM\tTO\tWAITING ON")
	for _, ph := range p.Phases {
		share, par := 0.0, 0.0
		if wall > 0 {
			share = 100 * ph.Wall.D().Seconds() / wall.Seconds()
		}
		if ph.Wall > 0 {
			par = ph.Busy.D().Seconds() / ph.Wall.D().Seconds()
		}
		var waits []string
		for _, wt := range ph.Waits {
			waits = append(waits, fmt.Sprintf("%s %.0f%%", wt.Event, 100*wt.Share))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f%%\t%.1f\t%.1f\t%s\t%s\t%s\n", ph.Name, ph.Wall, share, ph.Busy.D().Seconds(), par,
			ph.First, ph.Last, strings.Join(waits, ", "))
	}
	tw.Flush()
}

// classify names the phase of cutover a query belongs to, from its text
// (the SQL load and extract send). Queries it does not know are named by
// their server and first words.
func classify(onSource bool, query string) string {
	q := strings.Join(strings.Fields(query), " ")
	if onSource {
		switch {
		case strings.HasPrefix(q, "COPY (SELECT"):
			return "extract" // with the row versions' hashes that checksum a batch as it is copied
		case strings.Contains(q, "hash_record_extended"), strings.Contains(q, "hashtextextended"),
			strings.Contains(q, "hashtidextended"), strings.Contains(q, "pg_control_system"):
			return "checksum" // a re-run's fingerprints, verify's source side
		case strings.Contains(q, "pg_class"), strings.Contains(q, "pg_attribute"):
			return "start"
		}
		return "source: " + firstWords(q, 4)
	}
	if rest, ok := strings.CutPrefix(q, "copy "); ok {
		q = "COPY " + rest // pgx's CopyFrom writes it in lower case
	}
	if _, rest, ok := strings.Cut(q, "; "); ok && strings.HasPrefix(q, "SET LOCAL default_statistics_target") {
		q = rest // a stage or decision table's ANALYZE with its sample size
	}
	st := pgx.Identifier{mappings.StageSchema}.Sanitize() + "."
	bk := migrations.BookkeepingSchema + "."
	qbk := pgx.Identifier{migrations.BookkeepingSchema}.Sanitize() + "." // "cutover".
	has, pre := strings.Contains, strings.HasPrefix
	switch {
	case pre(q, "INSERT INTO public."):
		return "apply: rows"
	case pre(q, "DELETE FROM public."):
		return "apply: remove"
	case (pre(q, "UPDATE public.") || pre(q, "WITH u AS (UPDATE public.")) && has(q, "sort_order"):
		return "finish: sort_order"
	case pre(q, "ANALYZE public."), pre(q, "ANALYZE "+bk) && !has(q, bk+"dispositions"):
		return "finish: analyze" // the kept rows' tables too, analyzed with the target's
	case pre(q, "UPDATE public."):
		return "apply: rows"
	case pre(q, "DROP SCHEMA"):
		return "finish"
	case pre(q, "DROP TABLE IF EXISTS "+st):
		return "apply: stage drops" // each stage table once no mapping still to apply reads it
	case pre(q, "INSERT INTO "+bk), pre(q, "DELETE FROM "+bk), pre(q, "WITH g AS") && has(q, bk+"results"), pre(q, `COPY "`+migrations.BookkeepingSchema+`".`), has(q, "pg_locks"),
		pre(q, "INSERT INTO "+qbk), pre(q, "CREATE TABLE "+qbk), pre(q, "ALTER TABLE "+qbk), pre(q, "CREATE INDEX ON "+qbk), pre(q, "ALTER TABLE "+bk),
		pre(q, "ANALYZE "+qbk), pre(q, "SET LOCAL enable_nestloop"):
		return "apply: bookkeeping" // including the ledger partitions a first load fills, indexes and attaches
	case pre(q, "DROP INDEX public."), pre(q, "CREATE INDEX") && has(q, " ON public."), pre(q, "CREATE UNIQUE INDEX") && has(q, " ON public."),
		pre(q, "ALTER TABLE public.") && (has(q, " DROP CONSTRAINT ") || has(q, " ADD CONSTRAINT ")), pre(q, "LOCK TABLE public."):
		return "apply: index builds"
	case pre(q, "SELECT count(*) FROM (SELECT c."):
		return "apply: foreign-key checks"
	case pre(q, "SET LOCAL session_replication_role"):
		return "apply: rows"
	case has(q, `"_staged_batches"`):
		return "extract" // the stage's record of its batches, and a re-run's reading of what it can keep
	case has(q, "quests_typed"), has(q, "market_item_keys"), pre(q, "SELECT") && has(q, st):
		return "prepare"
	case pre(q, "COPY "+st), pre(q, "CREATE UNLOGGED TABLE "+st) && !has(q, st+`"d_`):
		return "extract"
	case has(q, st+`"d_`), pre(q, "SELECT coalesce(sum(n)"):
		return "decide"
	case pre(q, "CREATE INDEX ON "+st), pre(q, "CREATE INDEX IF NOT EXISTS ") && has(q, " ON "+st), pre(q, "ANALYZE "+st):
		return "stage indexes"
	case pre(q, "SELECT legacy_table, batch"), pre(q, "SELECT no_sessions"):
		return "checksum"
	case pre(q, "SELECT count(*) FROM public."), pre(q, "SELECT mapping, "), has(q, "UNION ALL SELECT 'archived'"),
		pre(q, "SELECT disposition, reason, sum(rows)"),
		pre(q, "SELECT c.relname FROM pg_class"):
		return "summary"
	case pre(q, "SELECT c.relname, a.attname"):
		return "decide"
	case has(q, "pg_advisory"), has(q, "goose"), pre(q, "CREATE SCHEMA IF NOT EXISTS"), has(q, bk+"runs"),
		has(q, "pg_class"), has(q, "pg_attribute"), has(q, "pg_namespace"):
		return "start"
	}
	return "target: " + firstWords(q, 4)
}

// Hottest returns the n costliest statements over all phases.
func (p *Profile) Hottest(n int) []Statement {
	var all []Statement
	for _, ph := range p.Phases {
		for _, st := range ph.Statements {
			all = append(all, Statement{Name: ph.Name + ": " + st.Name, Busy: st.Busy})
		}
	}
	slices.SortFunc(all, func(x, y Statement) int { return cmp.Or(cmp.Compare(y.Busy, x.Busy), cmp.Compare(x.Name, y.Name)) })
	return all[:min(n, len(all))]
}

var (
	verbRelation = regexp.MustCompile(`^(INSERT INTO|DELETE FROM|UPDATE|CREATE UNLOGGED TABLE|CREATE TABLE|CREATE INDEX ON|ANALYZE|COPY|DROP SCHEMA IF EXISTS|DROP SCHEMA) ([^\s(]+)`)
	fromRelation = regexp.MustCompile(`\bFROM ([^\s(]+)`)
	decision     = regexp.MustCompile(`"d_([a-z0-9_]+)"`)
	// publicRelation is an application table, as verify writes it.
	publicRelation = regexp.MustCompile(`\bpublic\.("[^"]+"|[a-z0-9_]+)`)
)

// statement names a query by its verb and relation, schema and quotes
// removed, and the decision table it reads when that is another relation:
// "INSERT INTO dispositions (d_users)". A verify bucket query is named by
// the application table it reads: "buckets points_ledger".
func statement(query string) string {
	q := strings.Join(strings.Fields(query), " ")
	name := firstWords(q, 3)
	rel := ""
	if strings.HasPrefix(q, "SELECT b,") {
		if m := publicRelation.FindStringSubmatch(q); m != nil {
			return "buckets " + bare(m[1])
		}
		return "buckets (text cut before its table)"
	}
	if m := verbRelation.FindStringSubmatch(q); m != nil {
		rel = bare(m[2])
		name = m[1] + " " + rel
	} else if verb, ok := strings.CutPrefix(q, "COPY ("); ok || strings.HasPrefix(q, "SELECT") {
		if m := fromRelation.FindStringSubmatch(verb); m != nil && ok {
			rel = bare(m[1])
			name = "COPY TO STDOUT " + rel
		} else if m := fromRelation.FindStringSubmatch(q); m != nil {
			rel = bare(m[1])
			name = "SELECT FROM " + rel
		}
	}
	if m := decision.FindStringSubmatch(q); m != nil && rel != "d_"+m[1] {
		name += " (d_" + m[1] + ")"
	}
	return name
}

// bare strips the schema and quotes of a relation name.
func bare(rel string) string {
	if i := strings.LastIndex(rel, "."); i >= 0 {
		rel = rel[i+1:]
	}
	return strings.Trim(rel, `"`)
}

func firstWords(q string, n int) string {
	f := strings.Fields(q)
	if len(f) > n {
		f = f[:n]
	}
	s := strings.Join(f, " ")
	if len(s) > 48 {
		s = s[:48]
	}
	return s
}
