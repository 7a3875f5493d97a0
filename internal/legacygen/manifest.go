package legacygen

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
)

// Manifest describes a generated legacy database: its rows per table and
// every planted anomaly with the outcome a correct cutover reaches.
type Manifest struct {
	Flavor    string           `json:"flavor"`
	Seed      int64            `json:"seed"`
	Users     int              `json:"users"`
	Drift     bool             `json:"drift"`
	Tables    map[string]int64 `json:"tables"` // rows per legacy table, seed rows included
	Anomalies []Anomaly        `json:"anomalies"`
}

// Anomaly is one legacy row whose disposition is not the plain rule of its
// table, or that tests a rule's fine print.
type Anomaly struct {
	Table       string `json:"table"`
	Key         string `json:"key"`         // the legacy primary key as text; composite keys joined with ","
	Kind        string `json:"kind"`        // what was planted, e.g. duplicate_email, tenant_mismatch
	Disposition string `json:"disposition"` // mappings.Disposition
	Reason      string `json:"reason"`      // a mappings.Reason* code, "" for loaded/merged/folded
	Note        string `json:"note,omitempty"`
}

// Rows is the total number of rows over all tables.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, c := range m.Tables {
		n += c
	}
	return n
}

// WriteFile writes the manifest as indented JSON.
func (m *Manifest) WriteFile(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("legacygen: write manifest: %w", err)
	}
	return nil
}

// ReadManifest reads a file written by WriteFile.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("legacygen: read manifest %s: %w", path, err)
	}
	return &m, nil
}

// notes collects anomalies from the table generators, which run
// concurrently.
type notes struct {
	mu   sync.Mutex
	list []Anomaly
}

func (n *notes) add(a Anomaly) {
	n.mu.Lock()
	n.list = append(n.list, a)
	n.mu.Unlock()
}

func (n *notes) sorted() []Anomaly {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := slices.Clone(n.list)
	slices.SortFunc(out, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(a.Table, b.Table), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	if out == nil {
		out = []Anomaly{}
	}
	return out
}
