package bench

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/cutover/cutover/internal/dburl"
)

// Machine is what the figures were measured on.
type Machine struct {
	CPU       string `json:"cpu"`
	CPUs      int    `json:"cpus"`
	MemoryKiB int64  `json:"memory_kib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Postgres  string `json:"postgres"`
	Pgcopydb  string `json:"pgcopydb,omitempty"`
	// Commit is the revision of the cutover build that measured (with
	// "-dirty" for uncommitted changes), from its VCS stamp: "" for a
	// build without one (go run).
	Commit string `json:"commit,omitempty"`
	// Settings are the target server's settings that bear on write speed
	// (the throwaway servers' are fsync, full_page_writes and
	// synchronous_commit off: a bench measures the tools, not the disk).
	Settings string `json:"settings,omitempty"`
}

func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d CPUs, %.1f GiB RAM, Linux %s, PostgreSQL %s, %s",
		m.CPU, m.CPUs, float64(m.MemoryKiB)/(1<<20), m.Kernel, m.Postgres, m.Go)
	if m.Pgcopydb != "" {
		s += ", pgcopydb " + m.Pgcopydb
	}
	if m.Commit != "" {
		s += ", cutover " + m.Commit
	}
	if m.Settings != "" {
		s += " (server: " + m.Settings + ")"
	}
	return s
}

// speedSettings are the server settings Machine.Settings records.
var speedSettings = []string{"fsync", "full_page_writes", "synchronous_commit", "shared_buffers", "max_wal_size", "work_mem", "maintenance_work_mem"}

// buildCommit is the VCS revision of the executable at path, "-dirty"
// appended when it was built with uncommitted changes; "" without a VCS
// stamp.
func buildCommit(path string) string {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

// readMachine describes this machine, the target server and the cutover
// executable binary that measures. Whatever cannot
// be read stays empty.
func readMachine(ctx context.Context, targetURL, binary string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown CPU", Commit: buildCommit(binary)}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "MemTotal:" {
				m.MemoryKiB, _ = strconv.ParseInt(fs[1], 10, 64)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if conn, err := dburl.Connect(ctx, "target", targetURL); err == nil {
		conn.QueryRow(ctx, "SHOW server_version").Scan(&m.Postgres)
		conn.QueryRow(ctx, `SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY array_position($1::text[], name))
			FROM unnest($1::text[]) AS name`, speedSettings).Scan(&m.Settings)
		conn.Close(context.WithoutCancel(ctx))
	}
	return m
}

// loadAverage is the 1-minute load average (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}
