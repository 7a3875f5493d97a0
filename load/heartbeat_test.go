package load

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testkit"
)

// TestRunSaysWhatItWorksOn: a step that takes long (here, the apply of
// habits in a run, or its decision in a dry run, held at a failpoint)
// leaves the command silent; after Heartbeat without a progress event it
// says which steps are under way and for how long, and then finishes.
func TestRunSaysWhatItWorksOn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, point, step string
		do                func(context.Context, Config) error
	}{
		{"run", "apply.rows:habits", "apply habits", func(ctx context.Context, cfg Config) error {
			_, err := Run(ctx, cfg)
			return err
		}},
		{"dry run", "decide:habits", "decide habits", func(ctx context.Context, cfg Config) error {
			_, err := DryRun(ctx, cfg, 3)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := rerunSource(t), testkit.MigratedTarget(t)
			cfg := rerunConfig(src, dst)
			cfg.Heartbeat = 200 * time.Millisecond
			want := regexp.MustCompile(`^(.+, )?` + c.step + ` \(for [0-9.]+m?s\)`)
			said := make(chan struct{})
			var once sync.Once
			h := heard{phase: "still working", on: func(m string) {
				if want.MatchString(m) {
					once.Do(func() { close(said) })
				}
			}}
			cfg.Progress = h.progress
			SetHook(&cfg, func(point string) error {
				if point == c.point {
					select {
					case <-said:
					case <-time.After(time.Minute):
					}
				}
				return nil
			})
			if err := c.do(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			select {
			case <-said:
			default:
				t.Errorf("while %s was held for a minute the %s said:\n%s\nwant a line matching %s", c.step, c.name, strings.Join(h.messages(), "\n"), want)
			}
		})
	}
}

// TestHeartbeatMessage: the oldest steps first, at most four, each with
// how long it has been under way; nothing while the run speaks or idles.
func TestHeartbeatMessage(t *testing.T) {
	var st steps
	now := time.Now()
	st.said = now.Add(-time.Minute)
	if got := st.quiet(now, 30*time.Second); got != "" {
		t.Errorf("no step under way: %q", got)
	}
	for i, name := range []string{"apply a", "apply b", "decide c", "analyze d", "extract e"} {
		st.begin(name)
		st.started[name] = now.Add(-time.Duration(10-i) * time.Second)
	}
	want := "apply a (for 10s), apply b (for 9s), decide c (for 8s), analyze d (for 7s), and 1 more"
	if got := st.quiet(now, 30*time.Second); got != want {
		t.Errorf("heartbeat %q, want %q", got, want)
	}
	st.said = now.Add(-10 * time.Second)
	if got := st.quiet(now, 30*time.Second); got != "" {
		t.Errorf("the run spoke 10 s ago: %q", got)
	}
}
