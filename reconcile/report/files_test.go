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
		{"a file", file, "report directory " + file + " is a file, not a directory: give a directory (it is created when missing)"},
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

// TestWriteDirAllOrNothing: a report file that cannot be replaced (a
// directory in its place) leaves the reports of an earlier run as they
// were and no temporary file: never one file of this run beside the
// others of an earlier one. With nothing in the way, all three are new.
func TestWriteDirAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"report.json", "report.html"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("earlier"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "report.md"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteDir(dir, hostile())
	if want := "report: " + filepath.Join(dir, "report.md") + " is in the way: it is not a file (no report was written)"; err == nil || err.Error() != want {
		t.Fatalf("WriteDir with a directory in the way: %v, want %q", err, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "report.html report.json report.md" {
		t.Errorf("the directory holds %s, want the earlier files and nothing more", got)
	}
	for _, f := range []string{"report.json", "report.html"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); string(b) != "earlier" {
			t.Errorf("%s was replaced though report.md could not be", f)
		}
	}
	if err := os.Remove(filepath.Join(dir, "report.md")); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, hostile()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "report.md", "report.html"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); len(b) < 100 {
			t.Errorf("%s: %q, want the new report", f, b)
		}
	}
}

// TestWriteDirReplacesALinkToAFile: a report file that is a symbolic
// link to a file is replaced, as a rename replaces it.
func TestWriteDirReplacesALinkToAFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere.md")
	if err := os.WriteFile(target, []byte("earlier"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "report.md")); err != nil {
		t.Fatal(err)
	}
	if err := WriteDir(dir, hostile()); err != nil {
		t.Fatalf("WriteDir over a link to a file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.md")); !strings.HasPrefix(string(b), "# cutover verify") {
		t.Errorf("report.md: %.40q, want the new report", b)
	}
}
