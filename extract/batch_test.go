package extract_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/extract"
)

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
}
