package load

import "sync"

// heard collects the messages of a run's progress events of one phase
// (every phase when phase is ""), safe for the run's goroutines. With
// phased, it keeps only events with a message, each as "phase: message".
type heard struct {
	phase  string
	phased bool
	on     func(string) // called with each message kept, if set
	mu     sync.Mutex
	said   []string
}

// progress is the Config.Progress that feeds h.
func (h *heard) progress(e Event) {
	if h.phase != "" && e.Phase != h.phase || h.phased && e.Message == "" {
		return
	}
	m := e.Message
	if h.phased {
		m = e.Phase + ": " + m
	}
	h.mu.Lock()
	h.said = append(h.said, m)
	h.mu.Unlock()
	if h.on != nil {
		h.on(m)
	}
}

// messages returns the messages kept so far.
func (h *heard) messages() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.said...)
}
