package pgtest

import (
	"context"
	"testing"
)

// TestFileCopy: a template is cloned as a file copy from PostgreSQL 15 on,
// and only where fsync is off.
func TestFileCopy(t *testing.T) {
	for _, c := range []struct {
		version int
		fsync   string
		want    string
	}{
		{140012, "off", ""},
		{150000, "off", " STRATEGY FILE_COPY"},
		{150018, "on", ""},
		{180001, "off", " STRATEGY FILE_COPY"},
	} {
		if got := fileCopy(c.version, c.fsync); got != c.want {
			t.Errorf("fileCopy(%d, %s) = %q, want %q", c.version, c.fsync, got, c.want)
		}
	}
	// The throwaway server is the installed one (15 here), with fsync off.
	if Cluster() != nil {
		got, err := strategy(context.Background(), AdminURL(t))
		if err != nil || got != " STRATEGY FILE_COPY" {
			t.Errorf("strategy of the throwaway server: %q, %v; want a file copy", got, err)
		}
	}
}
