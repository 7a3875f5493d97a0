package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// TestCtrlC interrupts a run once it is copying: with SIGINT (Ctrl-C),
// SIGHUP (the operator's terminal closed) or SIGTERM, the command exits as
// the signal's number says (130, 129, 143), says it was interrupted and
// that a re-run is safe, and the re-run finishes; started under nohup, the
// run ignores SIGHUP and finishes by itself.
func TestCtrlC(t *testing.T) {
	// A test process started under nohup (a long test run on a remote
	// machine, say) ignores SIGHUP, and a command it starts would inherit
	// that and take itself for one started under nohup. Handled here, the
	// signal is back to its default in the commands (exec resets handled
	// signals, not ignored ones); the nohup case sets it ignored itself.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	t.Cleanup(func() { signal.Stop(hup) })
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		nohup  bool
		code   int
		stderr string // in the interrupted command's output
	}{
		{"SIGINT", syscall.SIGINT, false, 130, "cutover: interrupted (interrupt); nothing half-written is kept, re-running the same command is safe"},
		{"SIGHUP", syscall.SIGHUP, false, 129, "cutover: interrupted (hangup); nothing half-written is kept, re-running the same command is safe"},
		{"SIGTERM", syscall.SIGTERM, false, 143, "cutover: interrupted (terminated); nothing half-written is kept, re-running the same command is safe"},
		{"SIGHUP under nohup", syscall.SIGHUP, true, 0, "conservation law holds for all 81 legacy tables"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			interrupt(t, c.sig, c.nohup, c.code, c.stderr)
		})
	}
}

func interrupt(t *testing.T, sig syscall.Signal, nohup bool, wantCode int, want string) {
	ctx := context.Background()
	src := reportLegacy(t)
	dst := pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "run", "--workers", "2")
	if nohup {
		cmd = exec.Command("nohup", os.Args[0], "run", "--workers", "2")
	}
	cmd.Env = append(os.Environ(), envRunMain+"=1", "CUTOVER_SOURCE_URL="+src, "CUTOVER_TARGET_URL="+dst)
	log, sent, code := signalAt(t, cmd, func(line string) bool {
		return strings.Contains(line, "extract:") || strings.Contains(line, "decide:")
	}, func() { cmd.Process.Signal(sig) })
	if !sent {
		t.Fatalf("the run never reached the copy:\n%s", log)
	}
	if code != wantCode || !strings.Contains(log, want) {
		t.Fatalf("after %s: exit %d, want %d and %q:\n%s", sig, code, wantCode, want, log)
	}
	if wantCode == 0 {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		stdout, stderr, code := runMain(t, []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}, "run")
		if code != 0 || !strings.Contains(stdout, "conservation law holds for all 81 legacy tables") {
			t.Errorf("re-run after %s: exit %d\n%s\n%s", sig, code, stdout, stderr)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("re-run did not finish")
	}
}

// TestCtrlCDuringADryRun interrupts `cutover diff` of a finished target at
// several moments: it exits as interrupted (or done, when it finished
// first) and leaves no scratch schema behind, though the interrupt may
// close the connection the dry run worked on (it left the schema, with
// up to 80 empty tables, when the interrupt came as it created them).
func TestCtrlCDuringADryRun(t *testing.T) {
	t.Parallel()
	src := reportLegacy(t)
	dst := pgtest.NewDB(t)
	if _, err := migrations.Apply(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}
	if stdout, stderr, code := runMain(t, env, "run"); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// After the checksum, the stage tables are created: each moment of
	// that, and then the later phases.
	type moment struct {
		at    string
		after time.Duration
	}
	var moments []moment
	for d := time.Duration(0); d < 200*time.Millisecond; d += 25 * time.Millisecond {
		moments = append(moments, moment{"rows read", d})
	}
	for _, at := range []string{"extract:", "decide:", "compare:"} {
		moments = append(moments, moment{at, 0})
	}
	for _, m := range moments {
		at := m.at
		cmd := exec.Command(os.Args[0], "diff")
		cmd.Env = append(os.Environ(), append(env, envRunMain+"=1")...)
		log, sent, code := signalAt(t, cmd, func(line string) bool { return strings.Contains(line, at) },
			func() { time.AfterFunc(m.after, func() { cmd.Process.Signal(syscall.SIGINT) }) })
		if !sent || code != 130 && code != 0 {
			t.Errorf("diff interrupted %v after %q: sent %v, exit %d:\n%s", m.after, at, sent, code, log)
		}
		if left := reportScalar(t, dst, `SELECT count(*)::text FROM pg_class WHERE relnamespace = to_regnamespace('cutover_dryrun')`); left != "0" {
			t.Errorf("diff interrupted %v after %q (exit %d) left %s relations in its scratch schema:\n%s", m.after, at, code, left, log)
		}
	}
}

// signalAt starts cmd and reads its stderr, and its stdout with it, line
// by line (a pipe: nohup would write a terminal's stdout to nohup.out);
// at the first line that at matches it calls send (which signals cmd, at
// once or later). It returns what cmd wrote, whether send was called, and
// cmd's exit status.
func signalAt(t *testing.T, cmd *exec.Cmd, at func(line string) bool, send func()) (log string, sent bool, code int) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if !sent && at(sc.Text()) {
			send()
			sent = true
		}
	}
	if ee, ok := cmd.Wait().(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return b.String(), sent, code
}

// TestInterruptedMessage: a command a signal ended says re-running it is
// safe, unless it says what to do first (a bench given databases it
// filled, which it needs empty).
func TestInterruptedMessage(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{context.Canceled, "cutover: interrupted (interrupt); nothing half-written is kept, re-running the same command is safe"},
		{fmt.Errorf("bench: %w", &interruptedNote{context.Canceled, "empty them first"}), "cutover: interrupted (interrupt); empty them first"},
	} {
		if got := interruptedMessage(syscall.SIGINT, c.err); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
}
