package load

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// A long statement (an index build on a large table, the decision of a
// table of a hundred million rows) keeps a run silent for minutes, and the
// operator cannot tell work from a hang. A run that has said nothing for
// Config.Heartbeat says what it is working on, and for how long.

// heartbeatEvery is Config.Heartbeat's default.
const heartbeatEvery = 30 * time.Second

// steps records the steps a run has under way, and when it last said
// anything.
type steps struct {
	mu      sync.Mutex
	started map[string]time.Time // step → when it began
	said    time.Time            // the last progress event
}

// begin records step as under way until the returned func is called.
func (st *steps) begin(step string) (end func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started == nil {
		st.started = map[string]time.Time{}
	}
	st.started[step] = time.Now()
	return func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		delete(st.started, step)
	}
}

// tap returns progress, recording when it was last called.
func (st *steps) tap(progress func(Event)) func(Event) {
	return func(e Event) {
		st.mu.Lock()
		st.said = time.Now()
		st.mu.Unlock()
		progress(e)
	}
}

// quiet returns the message of a heartbeat when nothing was said for
// every and steps are under way: the oldest four, each with how long it
// has been under way ("" otherwise).
func (st *steps) quiet(now time.Time, every time.Duration) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.said) < every || len(st.started) == 0 {
		return ""
	}
	type step struct {
		name  string
		since time.Time
	}
	var under []step
	for name, since := range st.started {
		under = append(under, step{name, since})
	}
	slices.SortFunc(under, func(a, b step) int {
		return cmp.Or(a.since.Compare(b.since), cmp.Compare(a.name, b.name))
	})
	var parts []string
	for i, u := range under {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more", len(under)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (for %s)", u.name, now.Sub(u.since).Round(time.Second)))
	}
	return strings.Join(parts, ", ")
}

// heartbeat makes s's progress go through its steps (see tap) and says,
// as a progress event of phase "still working", what the run is working
// on whenever it has said nothing for Config.Heartbeat. stop ends it.
func (s *session) heartbeat(ctx context.Context) (stop func()) {
	every := s.cfg.Heartbeat
	if every <= 0 {
		every = heartbeatEvery
	}
	s.cfg.Progress = s.steps.tap(s.cfg.Progress)
	s.steps.mu.Lock()
	s.steps.said = time.Now() // the silence counts from here
	s.steps.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(every/4, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if msg := s.steps.quiet(now, every); msg != "" {
					s.cfg.Progress(Event{Phase: "still working", Message: msg})
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
