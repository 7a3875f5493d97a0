package pgcluster

import (
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a server this package runs (postgres, pgbouncer) in a
// temporary directory of its own, which Stop removes.
type process struct {
	dir    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited

	// shutdown is the signal that asks it to stop, and grace how long
	// Stop waits for that before it kills its process group; orphaned is
	// the signal it gets when this process dies.
	shutdown, orphaned syscall.Signal
	grace              time.Duration

	stopOnce sync.Once
	stopErr  error
}

// start starts cmd as the process, with out closed once it exits. The
// process outlives any context (it is not started with CommandContext),
// runs as cred (nil: as this process's user) and dies with this process.
func (p *process) start(cmd *exec.Cmd, cred *syscall.Credential, out io.Closer) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: p.orphaned, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.cmd = cmd
	go func() {
		cmd.Wait()
		if out != nil {
			out.Close()
		}
		close(p.exited)
	}()
	return nil
}

// Stop asks the process to stop (its shutdown signal, then a kill after
// its grace) and removes its directory. It is safe to call more than once.
func (p *process) Stop() error {
	p.stopOnce.Do(func() {
		if p.cmd != nil && p.cmd.Process != nil {
			p.cmd.Process.Signal(p.shutdown)
			select {
			case <-p.exited:
			case <-time.After(p.grace):
				syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.exited
			}
		}
		p.stopErr = os.RemoveAll(p.dir)
	})
	return p.stopErr
}
