package extract_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestBatchEstimatedRows: each batch is estimated its pages' share of its
// table's rows (and bytes), so that a run's progress total holds still as
// batches come in; the last batch, open and shorter, holds fewer.
func TestBatchEstimatedRows(t *testing.T) {
	src := &extract.Source{BlockSize: 8192, Tables: []extract.Table{
		{Name: "big", Pages: 2500, EstimatedRows: 250_003, Bytes: 25_000_000},
		{Name: "small", Pages: 3, EstimatedRows: 40},
		{Name: "unanalyzed", Pages: 2500, EstimatedRows: -1},
	}}
	got, bytes := map[string][]int64{}, map[string][]int64{}
	for _, b := range extract.PlanBatches(src, 8<<20, 4) {
		got[b.Table] = append(got[b.Table], b.EstimatedRows(*src.Table(b.Table)))
		bytes[b.Table] = append(bytes[b.Table], b.EstimatedBytes(*src.Table(b.Table)))
	}
	want := map[string][]int64{
		"big":        {102_401, 102_401, 45_201}, // pages 0–1024, 1024–2048, 2048 to the end; 250,003 in all
		"small":      {40},
		"unanalyzed": {0, 0, 0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("estimated rows per batch (-want +got):\n%s", d)
	}
	// The same shares of the tables' bytes, which the time left goes by.
	wantBytes := map[string][]int64{"big": {10_240_000, 10_240_000, 4_520_000}, "small": {0}, "unanalyzed": {0, 0, 0}}
	if d := cmp.Diff(wantBytes, bytes); d != "" {
		t.Errorf("estimated bytes per batch (-want +got):\n%s", d)
	}
}

// TestPlanBatches pins how tables are cut into page ranges: whole chunks
// from the start, the last batch open to the end, at most maxBatches, and a
// table that grows keeps its batches' bounds.
func TestPlanBatches(t *testing.T) {
	src := &extract.Source{BlockSize: 8192, Tables: []extract.Table{
		{Name: "small", Pages: 3},
		{Name: "big", Pages: 2500},
		{Name: "huge", Pages: 100000},
		{Name: "empty"},
	}}
	describe := func(bs []extract.Batch) map[string][]string {
		out := map[string][]string{}
		for _, b := range bs {
			out[b.Table] = append(out[b.Table], fmt.Sprintf("%d/%d %s", b.No, b.Of, b.Where()))
		}
		return out
	}
	// 8 MiB of 8 kB pages: chunks of 1024 pages; huge is capped at 4.
	got := describe(extract.PlanBatches(src, 8<<20, 4))
	want := map[string][]string{
		"small": {"1/1 true"},
		"big": {
			"1/3 ctid < '(1024,0)'::tid",
			"2/3 ctid >= '(1024,0)'::tid AND ctid < '(2048,0)'::tid",
			"3/3 ctid >= '(2048,0)'::tid",
		},
		"huge": {
			"1/4 ctid < '(25000,0)'::tid",
			"2/4 ctid >= '(25000,0)'::tid AND ctid < '(50000,0)'::tid",
			"3/4 ctid >= '(50000,0)'::tid AND ctid < '(75000,0)'::tid",
			"4/4 ctid >= '(75000,0)'::tid",
		},
		"empty": {"1/1 true"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("batches (-want +got):\n%s", d)
	}
	// Grown by a page, big keeps its first two batches and its third
	// still reaches the end.
	src.Tables[1].Pages++
	if d := cmp.Diff(want["big"], describe(extract.PlanBatches(src, 8<<20, 4))["big"]); d != "" {
		t.Errorf("big after growing a page (-want +got):\n%s", d)
	}
	if s := extract.PlanBatches(src, 8<<20, 4)[1].String(); s != "big batch 1/3 (pages 0 to 1024)" {
		t.Errorf("String() = %q", s)
	}
	if s := extract.PlanBatches(src, 8<<20, 4)[3].String(); s != "big batch 3/3 (pages 2048 to the end)" {
		t.Errorf("String() = %q", s)
	}
	// A source before TID range scans reads every table in one batch;
	// one on this server's version (15) or of an unknown one, in ranges.
	for _, c := range []struct {
		version int
		batches int
	}{{130023, 4}, {140000, 9}, {150018, 9}, {0, 9}} {
		src.Version = c.version
		got := describe(extract.PlanBatches(src, 8<<20, 4))
		n := 0
		for _, bs := range got {
			n += len(bs)
		}
		if n != c.batches || (c.version == 130023 && got["huge"][0] != "1/1 true") {
			t.Errorf("version %d: %d batches %v, want %d", c.version, n, got, c.batches)
		}
	}
}

// TestBatchReadsItsPages: a batch's predicate is planned as a TID range
// scan, which reads only the batch's pages, and the batches of a table
// hold each row once.
func TestBatchReadsItsPages(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE paged (id uuid PRIMARY KEY, note text);
		INSERT INTO paged SELECT gen_random_uuid(), repeat('x', 200) FROM generate_series(1, 3000);
		ANALYZE paged`); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := conn.QueryRow(ctx, `SELECT pg_relation_size('paged') / current_setting('block_size')::bigint`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	batches := extract.SplitPages("paged", pages, 3)
	if len(batches) != 3 {
		t.Fatalf("%d pages in %d batches, want 3", pages, len(batches))
	}
	var total int64
	for _, b := range batches {
		var plan string
		if err := conn.QueryRow(ctx, `EXPLAIN (COSTS OFF) SELECT * FROM public.paged t WHERE `+b.Where()).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "Tid Range Scan") {
			t.Errorf("%s is planned as %q, want a Tid Range Scan", b, plan)
		}
		var n int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM public.paged t WHERE `+b.Where()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 3000 {
		t.Errorf("the batches hold %d rows, want 3000", total)
	}
}
