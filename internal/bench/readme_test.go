package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the README's bench tables from the reports they name")

// repoRoot is where README.md and docs/ are, from this package's directory.
const repoRoot = "../.."

// benchBlock is a block of the README that renders a committed report:
// its opening comment names the report, and the block ends at the comment
// that closes it.
var benchBlock = regexp.MustCompile(`(?s)(<!-- cutover bench show --markdown (\S+) -->\n)(.*?)(<!-- end of the report -->)`)

// TestReadmeTablesAreReports checks that every results block of the
// README is `cutover bench show --markdown` of the report it names, a
// committed --json report: the figures the README quotes are a bench's,
// not typed by hand. -update rewrites the blocks from the reports.
func TestReadmeTablesAreReports(t *testing.T) {
	readmePath := filepath.Join(repoRoot, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := benchBlock.FindAllSubmatchIndex(readme, -1)
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d bench report blocks, want the 1M and the 10M ones", len(blocks))
	}
	var out bytes.Buffer
	last := 0
	for _, b := range blocks {
		name := string(readme[b[4]:b[5]])
		r, err := ReadReport(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatalf("the README's block names %s: %v", name, err)
		}
		var want bytes.Buffer
		r.WriteMarkdown(&want)
		if d := cmp.Diff(want.String(), string(readme[b[6]:b[7]])); d != "" && !*update {
			t.Errorf("the README's tables of %s are not that report's (-report +README), run with -update:\n%s", name, d)
		}
		out.Write(readme[last:b[6]])
		out.Write(want.Bytes())
		last = b[7]
	}
	out.Write(readme[last:])
	if *update {
		if err := os.WriteFile(readmePath, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
