package dburl

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOptionSettings: the settings a URL's options parameter sets, in
// each form the server reads, so that StartSessions pins none of them.
func TestOptionSettings(t *testing.T) {
	for _, c := range []struct {
		options string
		want    []string
	}{
		{"", nil},
		{"-c statement_timeout=2h", []string{"statement_timeout"}},
		{"-cstatement_timeout=2h -c lock_timeout=5s", []string{"lock_timeout", "statement_timeout"}},
		{"--search-path=app --Row_Security=on", []string{"row_security", "search_path"}},
		{`-c search_path=my\ schema -c work_mem=64MB`, []string{"search_path", "work_mem"}},
		{"  -c   statement_timeout=0  ", []string{"statement_timeout"}},
		{`-c application_name=a\ -c\ lock_timeout=1`, []string{"application_name"}}, // one escaped value
		{"-c", nil},
		{"-c statement_timeout", nil}, // no value: the server refuses it
		{"-d 5 -F", nil},              // other switches set nothing cutover pins
	} {
		got := slices.Sorted(maps.Keys(optionSettings(c.options)))
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("optionSettings(%q) (-want +got):\n%s", c.options, diff)
		}
	}
}
