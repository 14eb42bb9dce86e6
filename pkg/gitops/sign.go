package gitops

import (
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Signer signs commits. Sign gets the commit as git encodes it without a
// signature and returns the armored signature that goes into the commit's
// gpgsig header: an OpenPGP signature, or an SSH signature (SSHSIG) for
// git's gpg.format=ssh. The interface is go-git's git.Signer.
type Signer interface {
	Sign(message io.Reader) ([]byte, error)
}

// signCommit sets the signature of commit, which must not have one yet.
func signCommit(commit *object.Commit, s Signer) error {
	var enc plumbing.MemoryObject
	if err := commit.EncodeWithoutSignature(&enc); err != nil {
		return fmt.Errorf("encode commit for signing: %w", err)
	}
	r, err := enc.Reader()
	if err != nil {
		return err
	}
	sig, err := s.Sign(r)
	if err != nil {
		return fmt.Errorf("sign commit: %w", err)
	}
	commit.PGPSignature = string(sig)
	return nil
}
