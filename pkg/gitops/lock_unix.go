//go:build unix

package gitops

import (
	"os"
	"syscall"
)

func flock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err == nil, err
		}
	}
}

func unflock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
