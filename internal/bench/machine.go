package bench

import (
	"bufio"
	"context"
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
}

func (m Machine) String() string {
	s := fmt.Sprintf("%s, %d CPUs, %.1f GiB RAM, Linux %s, PostgreSQL %s, %s",
		m.CPU, m.CPUs, float64(m.MemoryKiB)/(1<<20), m.Kernel, m.Postgres, m.Go)
	if m.Pgcopydb != "" {
		s += ", pgcopydb " + m.Pgcopydb
	}
	return s
}

// readMachine describes this machine and the target server. Whatever cannot
// be read stays empty.
func readMachine(ctx context.Context, targetURL string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown CPU"}
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
