package release

import (
	"context"
	"errors"
	"path"

	"github.com/bgrender/bgrender/pkg/render"
)

// driftHistory bounds how many versions of a snapshot dir are read to find
// the one its release recorded.
const driftHistory = 50

// ExplainDrift adds to a *render.DriftError in err the commit that made
// the snapshot its release recorded and the files changed since, when the
// history at hand has it, and returns the DriftError (the wrapping
// messages were made before); err is returned as it is otherwise.
func ExplainDrift(ctx context.Context, a *App, err error) error {
	var drift *render.DriftError
	if !errors.As(err, &drift) || drift.Found != nil {
		return err
	}
	var snapshot map[string][]byte
	repoDir := path.Join(a.Dir, drift.Dir)
	c, ferr := a.Repo.FindDirVersion(ctx, repoDir, driftHistory, func(files map[string][]byte) bool {
		if render.Digest(files) != drift.Release.Snapshot {
			return false
		}
		snapshot = files
		return true
	})
	if ferr != nil {
		return err
	}
	drift.Found = &render.DriftOrigin{
		Commit:  short(c.Hash.String()),
		RepoDir: repoDir,
		Changed: render.DriftedFiles(drift.Dir, a.Files, snapshot),
	}
	return drift
}
