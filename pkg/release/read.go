package release

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/render"
	"github.com/bgrender/bgrender/pkg/vet"
)

// LinkError is a directory bgrender reads that holds symbolic links.
// Nothing of bgrender's follows one: a link in an app dir is either broken
// for Argo CD and Flux too, or points where a pull request's author wants
// bgrender to read or write.
type LinkError struct {
	// Dir is the directory's repo path; Links its links (relative to Dir)
	// with their targets.
	Dir   string
	Links map[string]string
}

func (e *LinkError) Error() string {
	var names []string
	for p, target := range e.Links {
		names = append(names, fmt.Sprintf("%s -> %s", path.Join(e.Dir, p), target))
	}
	sort.Strings(names)
	return fmt.Sprintf("%s: symbolic links in the app dir: %s; bgrender does not follow links (they could lead out of the repo): replace each with the file or directory itself",
		e.Dir, strings.Join(names, ", "))
}

// ReadDir reads the directory dir of r at its head within l: a file or the
// directory over a size bound is a *gitops.TooLargeError before it is read,
// a symbolic link a *LinkError, and every file that parses as YAML is
// measured (vet.Files: *vet.LimitError, naming the file by its repo path)
// before anything else parses it.
func ReadDir(ctx context.Context, r *gitops.Repo, dir string, l vet.Limits) (render.Files, error) {
	tree, err := r.ReadTree(ctx, dir, gitops.Bounds{FileBytes: l.FileBytes, DirBytes: l.DirBytes})
	if err != nil {
		return nil, err
	}
	if len(tree.Links) > 0 {
		return nil, &LinkError{Dir: dir, Links: tree.Links}
	}
	if errs := vet.Files(tree.Files, l); len(errs) > 0 {
		for _, err := range errs {
			var le *vet.LimitError
			if errors.As(err, &le) {
				le.File = path.Join(dir, le.File)
			}
		}
		return nil, errors.Join(errs...)
	}
	return tree.Files, nil
}

// ReadShared reads, from r's head, the directories elsewhere in the repo
// that the kustomizations of the app dir dir (files) reach, and those they
// reach in turn (render.SharedDirs), by repo path, within l: the app's
// limits, their sizes counted together. A directory that is not there is
// left for the build to report.
func ReadShared(ctx context.Context, r *gitops.Repo, dir string, files render.Files, l vet.Limits) (render.Files, error) {
	return ReachShared(dir, files, l, func(d string) (render.Files, error) {
		got, err := ReadDir(ctx, r, d, l)
		var tooLarge *gitops.TooLargeError
		if errors.As(err, &tooLarge) || ctx.Err() != nil {
			return nil, fmt.Errorf("read %s, which %s's kustomizations use: %w", d, dir, err)
		}
		return got, err
	})
}

// ReachShared collects the shared directories of the app dir dir (files)
// with read, which reads one directory by repo path (a commit's, or a
// working tree's) and returns its files relative to it. A read error ends
// it, but one that wraps gitops.ErrNotDirectory skips the path (the build
// names the entry that leads there); the sizes are counted together
// against l.
func ReachShared(dir string, files render.Files, l vet.Limits, read func(d string) (render.Files, error)) (render.Files, error) {
	shared := render.Files{}
	tried := map[string]bool{}
	var total int64
	for {
		var dirs []string
		for _, d := range render.SharedDirs(dir, files, shared) {
			if !tried[d] {
				dirs = append(dirs, d)
			}
		}
		if len(dirs) == 0 {
			return shared, nil
		}
		for _, d := range dirs {
			tried[d] = true
			got, err := read(d)
			switch {
			case errors.Is(err, gitops.ErrNotDirectory):
				continue
			case err != nil:
				return nil, err
			}
			for p, b := range got {
				total += int64(len(b))
				shared[path.Join(d, p)] = b
			}
			if l.DirBytes > 0 && total > l.DirBytes {
				return nil, &SharedTooLargeError{Dir: dir, Size: total, Limit: l.DirBytes}
			}
		}
	}
}

// SharedTooLargeError is the directories an app's kustomizations use
// elsewhere in the repo, over the app's size limit together.
type SharedTooLargeError struct {
	Dir         string
	Size, Limit int64
}

func (e *SharedTooLargeError) Error() string {
	return fmt.Sprintf("%s: the directories its kustomizations use elsewhere in the repo hold %d bytes, over the limit of %d", e.Dir, e.Size, e.Limit)
}
