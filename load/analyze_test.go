package load

import "testing"

// TestAnalyzeMessage: the finish's progress line counts the public tables
// it analyzes, and says so in words when there are none.
func TestAnalyzeMessage(t *testing.T) {
	for _, c := range []struct {
		public, kept int
		want         string
	}{
		{0, 0, "no table changed: no statistics to gather"},
		{0, 2, "gathering statistics of the kept rows' tables (ANALYZE)"},
		{1, 0, "gathering statistics of 1 target table (ANALYZE)"},
		{63, 3, "gathering statistics of 63 target tables (ANALYZE)"},
	} {
		if got := analyzeMessage(c.public, c.kept); got != c.want {
			t.Errorf("analyzeMessage(%d, %d) = %q, want %q", c.public, c.kept, got, c.want)
		}
	}
}
