// Package childproc runs the child processes of the test harnesses (etcd,
// kube-apiserver, Argo CD, Flux): each in a process group of its own, so
// that stopping it reaches what it starts in turn, with its output in a log
// file, and killed by the kernel if the test binary dies without running its
// cleanups.
package childproc

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Proc is one running child process.
type Proc struct {
	// Name names it in errors; Log is the file its stdout and stderr go to.
	Name, Log string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts bin with args, its output to a new file at logPath. env nil
// means the test binary's environment.
func Start(name, bin string, args, env []string, logPath string) (*Proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process exited; valid once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Stop sends SIGTERM to the process group, waits up to grace for the
// process to exit, then sends SIGKILL to whatever is left of the group
// (the leader too, if it ignored SIGTERM), and waits for it.
func (p *Proc) Stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// LogTail is the last max bytes of the process's log ("" if unreadable).
func (p *Proc) LogTail(max int) string {
	data, err := os.ReadFile(p.Log)
	if err != nil {
		return ""
	}
	if len(data) > max {
		data = data[len(data)-max:]
	}
	return string(data)
}
