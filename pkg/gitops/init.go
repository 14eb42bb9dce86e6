package gitops

import (
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// InitBare creates an empty bare repository at path whose HEAD names
// refs/heads/<branch> ("main" when branch is empty).
func InitBare(path string, branch string) error {
	if branch == "" {
		branch = defaultBranch
	}
	name := plumbing.NewBranchReferenceName(branch)
	if err := name.Validate(); err != nil {
		return fmt.Errorf("init bare repository at %s: branch %q: %w", path, branch, err)
	}
	_, err := git.PlainInitWithOptions(path, &git.PlainInitOptions{
		Bare:        true,
		InitOptions: git.InitOptions{DefaultBranch: name},
	})
	if err != nil {
		return fmt.Errorf("init bare repository at %s: %w", path, err)
	}
	return nil
}
