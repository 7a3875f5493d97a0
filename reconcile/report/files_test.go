package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepareDir: a missing report directory is created, an existing one
// is left as it was, and one that cannot be made is refused with its
// path, before any work.
func TestPrepareDir(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, dir, want string // want: in the error, "" for none
	}{
		{"missing", filepath.Join(root, "reports", "night"), ""},
		{"existing", root, ""},
		{"under a file", filepath.Join(file, "reports"), "report directory " + filepath.Join(file, "reports") + " cannot be created"},
	} {
		err := PrepareDir(c.dir)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		case c.want == "":
			entries, err := os.ReadDir(c.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".cutover-report-check-") {
					t.Errorf("%s: left %s behind", c.name, e.Name())
				}
			}
		}
	}
}
