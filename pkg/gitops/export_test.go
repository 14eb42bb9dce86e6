package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// BenchApp is the directory of the i-th app of a repo from GenEnvRepo.
func BenchApp(i int) string { return fmt.Sprintf("apps/app-%04d", i) }

// GenEnvRepo writes a bare repo at dir with apps app directories and a
// history of commits commits (the first adds every app, each later one
// changes one app's state file), stored as one pack, as a gc'ed repo is.
func GenEnvRepo(b *testing.B, dir string, apps, commits int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	mem := memory.NewStorage()
	te := newTreeEditor(mem)
	when := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	commit := func(root, parent plumbing.Hash, msg string) plumbing.Hash {
		sig := object.Signature{Name: "gen", Email: "gen@example.com", When: when}
		when = when.Add(time.Minute)
		c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: root}
		if !parent.IsZero() {
			c.ParentHashes = []plumbing.Hash{parent}
		}
		o := mem.NewEncodedObject()
		if err := c.Encode(o); err != nil {
			b.Fatal(err)
		}
		h, err := mem.SetEncodedObject(o)
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	files := map[string][]byte{}
	for i := 0; i < apps; i++ {
		a := BenchApp(i)
		files[a+"/bgrender-state.yaml"] = []byte(fmt.Sprintf("app: %s\nversion: 0\n", a))
		for _, color := range []string{"blue", "green"} {
			files[a+"/overlays/"+color+"/kustomization.yaml"] = []byte(fmt.Sprintf("resources: [../../base]\nnameSuffix: -%s\n", color))
			files[a+"/overlays/"+color+"/deployment.yaml"] = []byte(fmt.Sprintf("app: %s\ncolor: %s\nimage: %s:0\n", a, color, a))
		}
	}
	root, err := te.applyEdit(ctx, plumbing.ZeroHash, edit{files: files})
	if err != nil {
		b.Fatal(err)
	}
	head := commit(root, plumbing.ZeroHash, "init\n")
	for i := 1; i < commits; i++ {
		a := BenchApp(i % apps)
		root, err = te.applyEdit(ctx, root, edit{dir: a, files: map[string][]byte{
			"bgrender-state.yaml": []byte(fmt.Sprintf("app: %s\nversion: %d\n", a, i)),
		}})
		if err != nil {
			b.Fatal(err)
		}
		head = commit(root, head, FormatMessage(a+": deploy", "", []Trailer{{Key: "Bgrender-App", Value: a}}))
	}
	b.Logf("history built in %s", time.Since(start).Round(time.Millisecond))
	if err := InitBare(dir, "main"); err != nil {
		b.Fatal(err)
	}
	st := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	defer st.Close()
	var hashes []plumbing.Hash
	it, err := mem.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		b.Fatal(err)
	}
	if err := it.ForEach(func(o plumbing.EncodedObject) error {
		hashes = append(hashes, o.Hash())
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	pw, err := st.PackfileWriter()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := packfile.NewEncoder(pw, mem, false).Encode(hashes, 3); err != nil {
		b.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := st.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("main"), head)); err != nil {
		b.Fatal(err)
	}
	packs, _ := filepath.Glob(filepath.Join(dir, "objects/pack/*.pack"))
	var size int64
	for _, p := range packs {
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	b.Logf("generated %d apps, %d commits, %d objects, pack %d MB, in %s", apps, commits, len(hashes), size>>20, time.Since(start).Round(time.Millisecond))
}
