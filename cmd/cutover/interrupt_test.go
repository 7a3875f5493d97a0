package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// TestCtrlC interrupts a run with SIGINT once it is copying: the command
// exits with 130 and says a re-run is safe, and the re-run finishes.
func TestCtrlC(t *testing.T) {
	ctx := context.Background()
	src := pgtest.NewDB(t)
	if _, err := legacygen.Generate(ctx, src, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 60, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	dst := pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "run", "--workers", "2")
	cmd.Env = append(os.Environ(), envRunMain+"=1", "CUTOVER_SOURCE_URL="+src, "CUTOVER_TARGET_URL="+dst)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sent := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !sent && (strings.Contains(sc.Text(), "extract:") || strings.Contains(sc.Text(), "decide:")) {
			cmd.Process.Signal(syscall.SIGINT)
			sent = true
		}
	}
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if !sent {
		t.Fatalf("the run never reached the copy:\n%s", log.String())
	}
	if code != 130 || !strings.Contains(log.String(), "interrupted") || !strings.Contains(log.String(), "re-running the same command is safe") {
		t.Fatalf("after SIGINT: exit %d, want 130 and a clear message:\n%s", code, log.String())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		stdout, stderr, code := runMain(t, []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}, "run")
		if code != 0 || !strings.Contains(stdout, "conservation law holds for all 81 legacy tables") {
			t.Errorf("re-run after SIGINT: exit %d\n%s\n%s", code, stdout, stderr)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("re-run did not finish")
	}
}
