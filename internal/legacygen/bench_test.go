package legacygen

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/pgtest"
)

// About 470 rows per user: -legacygen.users=2200 gives about a million rows.
var benchUsers = flag.Int("legacygen.users", 200, "users per BenchmarkGenerate database")

// BenchmarkGenerate generates a v21 database with drift tables and
// anomalies per iteration, e.g.
//
//	go test ./internal/legacygen -run '^$' -bench Generate -benchtime 1x -legacygen.users 2200
func BenchmarkGenerate(b *testing.B) {
	ctx := context.Background()
	var rows, bytes int64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		url := pgtest.NewDB(b)
		before, err := DatabaseSize(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		m, err := Generate(ctx, url, Options{Flavor: "v21", Users: *benchUsers, Seed: int64(i + 1), Anomalies: true, Drift: true})
		elapsed += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		after, err := DatabaseSize(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		rows += m.Rows()
		bytes += after - before
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(bytes)/(1<<20)/elapsed.Seconds(), "MB/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	b.ReportMetric(float64(bytes)/(1<<20)/float64(b.N), "MB/op")
}
