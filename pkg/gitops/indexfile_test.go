package gitops

import (
	"bytes"
	"crypto/sha1"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func goGitDecode(t *testing.T, b []byte) *index.Index {
	t.Helper()
	idx := &index.Index{}
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestIndexCodecMatchesGoGit: on indexes git itself wrote, with every
// kind of entry (a path longer than the flags hold, skip-worktree,
// intent-to-add, the three stages of a conflict) and optional extensions
// (the cached tree, the untracked cache), the one-pass parser gives
// go-git's entries, the writer go-git's bytes, and git reads what the
// writer wrote as it wrote it. Version 4 and a split index (a required
// extension) go to go-git's decoder.
func TestIndexCodecMatchesGoGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is needed (apt-get install -y git)")
	}
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	for i, p := range []string{"a.txt", "apps/shop/bgrender.yaml", "apps/shop/overlays/blue/kustomization.yaml", "z/ünïcode.yaml", "skip/me.yaml"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(strings.Repeat("x", i*7)+"\n"), 0o644)
	}
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "-q", "-m", "init")
	blob := strings.TrimSpace(gitIn(t, dir, "hash-object", "-w", "a.txt"))
	long := strings.Repeat(strings.Repeat("d", 200)+"/", 21) + "long.yaml" // 4,230 bytes: more than the flags hold
	gitIn(t, dir, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+long)
	gitIn(t, dir, "update-index", "--skip-worktree", "skip/me.yaml")
	os.WriteFile(filepath.Join(dir, "later.yaml"), []byte("later\n"), 0o644)
	gitIn(t, dir, "add", "-N", "later.yaml")
	stages := "100644 " + blob + " 1\tconflict.yaml\n100644 " + blob + " 2\tconflict.yaml\n100755 " + blob + " 3\tconflict.yaml\n"
	cmd := exec.Command("git", "update-index", "--index-info")
	cmd.Dir, cmd.Stdin = dir, strings.NewReader(stages)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update-index --index-info: %v\n%s", err, out)
	}
	gitIn(t, dir, "update-index", "--untracked-cache")
	gitIn(t, dir, "status", "--porcelain")
	indexFile := filepath.Join(dir, ".git", "index")
	b, err := os.ReadFile(indexFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("UNTR")) || b[4+3] != 3 {
		t.Fatalf("git did not write the version 3 index with an untracked cache this test needs")
	}

	ours, ok, err := parseIndex(b)
	if err != nil || !ok {
		t.Fatalf("parseIndex: ok %v, %v", ok, err)
	}
	theirs := goGitDecode(t, b)
	if !reflect.DeepEqual(ours.Entries, theirs.Entries) || ours.Version != theirs.Version {
		t.Fatalf("entries differ from go-git's:\n%+v\n%+v", ours.Entries, theirs.Entries)
	}
	if len(ours.Entries) != 10 {
		t.Fatalf("%d entries, want 10", len(ours.Entries))
	}
	var sawLong, sawSkip, sawIntent, sawStage3 bool
	for _, e := range ours.Entries {
		sawLong = sawLong || e.Name == long
		sawSkip = sawSkip || (e.Name == "skip/me.yaml" && e.SkipWorktree)
		sawIntent = sawIntent || (e.Name == "later.yaml" && e.IntentToAdd)
		sawStage3 = sawStage3 || (e.Name == "conflict.yaml" && e.Stage == index.TheirMode)
	}
	if !sawLong || !sawSkip || !sawIntent || !sawStage3 {
		t.Fatalf("long %v, skip-worktree %v, intent-to-add %v, stage 3 %v", sawLong, sawSkip, sawIntent, sawStage3)
	}

	written, ok, err := encodeIndex(ours)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	var want bytes.Buffer
	if err := index.NewEncoder(&want).Encode(theirs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, want.Bytes()) {
		t.Fatalf("encodeIndex wrote %d bytes unlike go-git's %d", len(written), want.Len())
	}
	before := gitIn(t, dir, "ls-files", "--stage", "--debug")
	beforeV := gitIn(t, dir, "ls-files", "-v")
	if err := os.WriteFile(indexFile, written, 0o644); err != nil {
		t.Fatal(err)
	}
	if after := gitIn(t, dir, "ls-files", "--stage", "--debug"); after != before {
		t.Fatalf("git reads the written index otherwise:\n%s\nwant:\n%s", after, before)
	}
	if after := gitIn(t, dir, "ls-files", "-v"); after != beforeV {
		t.Fatalf("git ls-files -v (skip-worktree flags) differs:\n%s\nwant:\n%s", after, beforeV)
	}

	// Version 4 (prefix-compressed names) and a split index are go-git's.
	gitIn(t, dir, "update-index", "--index-version", "4")
	b4, _ := os.ReadFile(indexFile)
	if _, ok, err := parseIndex(b4); ok || err != nil {
		t.Fatalf("parseIndex took a version 4 index: ok %v, %v", ok, err)
	}
	got, err := decodeIndexBytes(b4)
	if err != nil || !reflect.DeepEqual(got.Entries, goGitDecode(t, b4).Entries) || got.Version != 4 {
		t.Fatalf("a version 4 index through go-git: %v", err)
	}
	gitIn(t, dir, "update-index", "--index-version", "2")
	gitIn(t, dir, "update-index", "--split-index")
	bs, _ := os.ReadFile(indexFile)
	if !bytes.Contains(bs, []byte("link")) {
		t.Fatal("git wrote no split index")
	}
	if _, ok, err := parseIndex(bs); ok || err != nil {
		t.Fatalf("parseIndex took a split index (a required extension): ok %v, %v", ok, err)
	}

	// A corrupt index is an error, never entries.
	bad := append([]byte(nil), b...)
	bad[20] ^= 0xff
	if _, _, err := parseIndex(bad); err == nil {
		t.Fatal("a corrupt index parsed")
	}
	if _, _, err := parseIndex(b[:30]); err == nil {
		t.Fatal("a cut index parsed")
	}
	// A count of entries the file cannot hold is refused before anything
	// is allocated for them.
	huge := append([]byte("DIRC\x00\x00\x00\x02\x00\xff\xff\xff"), make([]byte, 64)...)
	sum := sha1.Sum(huge)
	allocs := testing.AllocsPerRun(1, func() {
		if _, _, err := parseIndex(append(huge, sum[:]...)); err == nil || !strings.Contains(err.Error(), "entries in") {
			t.Fatalf("an index claiming 16 million entries in 96 bytes: %v", err)
		}
	})
	if allocs > 10 {
		t.Fatalf("%v allocations refusing it", allocs)
	}
}

// BenchmarkIndexCodec compares the one-pass codec with go-git's on an index
// of 17,000 entries (a 1,000-app env repo's):
//
//	go test ./pkg/gitops -run '^$' -bench IndexCodec
func BenchmarkIndexCodec(b *testing.B) {
	idx := &index.Index{Version: 2}
	for i := range 17000 {
		e := idx.Add(strings.Repeat("d", 3) + "/apps/app" + string(rune('a'+i%26)) + "/" + strings.Repeat("f", i%40) + ".yaml" + string(rune('0'+i%10)) + string(rune('a'+(i/10)%26)) + string(rune('a'+(i/260)%26)) + string(rune('a'+(i/6760)%26)))
		e.Size = uint32(i)
	}
	data, _, err := encodeIndex(idx)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode/bgrender", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := parseIndex(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/go-git", func(b *testing.B) {
		for b.Loop() {
			if err := index.NewDecoder(bytes.NewReader(data)).Decode(&index.Index{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/bgrender", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := encodeIndex(idx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/go-git", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			if err := index.NewEncoder(&buf).Encode(idx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
