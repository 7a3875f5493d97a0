package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
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

// BenchmarkClone clones a template of about 40 MB (as big as a finished
// 40-user target) with the server's default strategy and as a file copy:
//
//	go test -run '^$' -bench Clone ./internal/pgtest
func BenchmarkClone(b *testing.B) {
	ctx := context.Background()
	admin := AdminURL(b)
	tmpl := NewDBFrom(b, "clone_bench", func(ctx context.Context, url string) error {
		return exec(ctx, url, `CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 500000) g`)
	})
	u, err := url.Parse(tmpl)
	if err != nil {
		b.Fatal(err)
	}
	from := strings.TrimPrefix(u.Path, "/")
	for _, how := range []struct{ name, clause string }{{"default", ""}, {"file_copy", " STRATEGY FILE_COPY"}} {
		b.Run(how.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				name := pgx.Identifier{fmt.Sprintf("clone_bench_%s_%d", how.name, i)}.Sanitize()
				if err := exec(ctx, admin, "CREATE DATABASE "+name+" TEMPLATE "+pgx.Identifier{from}.Sanitize()+how.clause); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := exec(ctx, admin, "DROP DATABASE "+name); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
