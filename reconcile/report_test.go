package reconcile_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/reconcile"
	"github.com/cutover/cutover/reconcile/report"
)

var update = flag.Bool("update", false, "rewrite testdata/report/report.json.golden")

var golden = filepath.Join("..", "testdata", "report", "report.json.golden")

// TestReportGolden: the report.json of `cutover verify` on the fixed data
// set (legacy v21, 60 users, seed 7) after an untouched cutover. Run with
// -update to rewrite it after an intended change.
func TestReportGolden(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	res := verify(t, src, dst)
	// The fixtures' targets are copies of one template, whose run read
	// another copy of the source than src, or src itself when this test
	// built the template: whether verify notes another database depends
	// on the order the tests ran in. TestVerifySaysWhenTheSourceIsAnother-
	// Database covers that note.
	res.Findings = slices.DeleteFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.KindOtherDatabase })
	rep := report.FromVerify(res, report.Options{Stable: true})
	var got bytes.Buffer
	if err := report.WriteJSON(&got, rep); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./reconcile -run TestReportGolden -update to create it)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")); diff != "" {
		t.Errorf("report.json differs from %s (-want +got):\n%s", golden, diff)
	}
	// The same report renders as well-formed, self-contained HTML.
	var h bytes.Buffer
	if err := report.WriteHTML(&h, rep); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&h)
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("report.html is not well-formed: %v", err)
		}
	}
}
