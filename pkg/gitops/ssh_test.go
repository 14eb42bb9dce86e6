package gitops_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

// TestSSH pushes over SSH with key files, against an in-process SSH server
// whose host key is the only one SSH_KNOWN_HOSTS lists.
func TestSSH(t *testing.T) {
	ctx := context.Background()
	const passphrase = "correct horse battery staple"

	t.Run("push", func(t *testing.T) {
		for _, tt := range []struct {
			name, passphrase string
		}{
			{name: "plain key"},
			{name: "passphrase-protected key", passphrase: passphrase},
		} {
			t.Run(tt.name, func(t *testing.T) {
				dir, _, seeded := seed(t)
				key, pub := gitopstest.NewSSHKey(t, tt.passphrase)
				url, knownHosts := gitopstest.ServeSSH(t, dir, pub)
				t.Setenv("SSH_KNOWN_HOSTS", knownHosts)

				r := open(t, gitops.Options{Repo: url, Push: true, Auth: gitops.Auth{SSHKeyFile: key, SSHKeyPassphrase: tt.passphrase}})
				if r.Head() != seeded || r.Branch() != "main" {
					t.Fatalf("Head, Branch = %s, %s; want %s, main", r.Head(), r.Branch(), seeded)
				}
				res, err := r.Apply(ctx, appChange(1))
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if !res.Pushed || res.Parent != seeded {
					t.Errorf("Apply = %+v, want pushed on top of %s", res, seeded)
				}
				if got := gitopstest.Head(t, dir, "main"); got != res.Commit {
					t.Fatalf("remote main at %s, want %s", got, res.Commit)
				}
				if got := gitopstest.Files(t, dir, "main", "apps/a"); !reflect.DeepEqual(got, wantAppFiles()) {
					t.Errorf("remote apps/a:\n got %v\nwant %v", got, wantAppFiles())
				}
				if log := gitopstest.Log(t, dir, "main"); len(log) != 2 || log[0].Message != appChange(1).Message || log[1].Hash != seeded {
					t.Errorf("remote log = %v", log)
				}
			})
		}
	})

	t.Run("lost race is rejected", func(t *testing.T) {
		dir, _, seeded := seed(t)
		key, pub := gitopstest.NewSSHKey(t, "")
		url, knownHosts := gitopstest.ServeSSH(t, dir, pub)
		t.Setenv("SSH_KNOWN_HOSTS", knownHosts)
		opts := gitops.Options{Repo: url, Push: true, Auth: gitops.Auth{SSHKeyFile: key}}

		first, second := open(t, opts), open(t, opts)
		won, err := first.Apply(ctx, appChange(1))
		if err != nil {
			t.Fatalf("first Apply: %v", err)
		}
		if _, err := second.Apply(ctx, appChange(2)); !errors.Is(err, gitops.ErrPushRejected) {
			t.Fatalf("second Apply: %v, want ErrPushRejected", err)
		}
		if got := gitopstest.Head(t, dir, "main"); got != won.Commit || won.Parent != seeded {
			t.Errorf("remote main at %s, want %s", got, won.Commit)
		}
	})

	t.Run("refused", func(t *testing.T) {
		dir, _, seeded := seed(t)
		_, authorized := gitopstest.NewSSHKey(t, "")
		url, knownHosts := gitopstest.ServeSSH(t, dir, authorized)
		t.Setenv("SSH_KNOWN_HOSTS", knownHosts)
		otherKey, _ := gitopstest.NewSSHKey(t, passphrase)
		missing := filepath.Join(t.TempDir(), "no-such-key")

		for _, tt := range []struct {
			name     string
			auth     gitops.Auth
			wantText []string
		}{
			{name: "unauthorized key", auth: gitops.Auth{SSHKeyFile: otherKey, SSHKeyPassphrase: passphrase}, wantText: []string{"unable to authenticate"}},
			{name: "wrong passphrase", auth: gitops.Auth{SSHKeyFile: otherKey, SSHKeyPassphrase: passphrase + "!"}, wantText: []string{otherKey}},
			{name: "missing key file", auth: gitops.Auth{SSHKeyFile: missing, SSHKeyPassphrase: passphrase}, wantText: []string{missing}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r, err := gitops.Open(ctx, gitops.Options{Repo: url, Push: true, Auth: tt.auth})
				if err == nil {
					r.Close()
					t.Fatal("Open succeeded")
				}
				t.Logf("Open: %v", err)
				for _, s := range tt.wantText {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				if strings.Contains(err.Error(), passphrase) {
					t.Errorf("error %q contains the passphrase", err)
				}
				if got := gitopstest.Head(t, dir, "main"); got != seeded {
					t.Errorf("remote main moved to %s", got)
				}
			})
		}
	})

	t.Run("unknown repository", func(t *testing.T) {
		dir, _, _ := seed(t)
		key, pub := gitopstest.NewSSHKey(t, "")
		url, knownHosts := gitopstest.ServeSSH(t, dir, pub)
		t.Setenv("SSH_KNOWN_HOSTS", knownHosts)
		_, err := gitops.Open(ctx, gitops.Options{Repo: strings.TrimSuffix(url, "repo.git") + "other.git", Auth: gitops.Auth{SSHKeyFile: key}})
		if !errors.Is(err, transport.ErrRepositoryNotFound) {
			t.Fatalf("Open: %v, want transport.ErrRepositoryNotFound", err)
		}
	})

	t.Run("unknown host key", func(t *testing.T) {
		dir, _, _ := seed(t)
		key, pub := gitopstest.NewSSHKey(t, "")
		url, _ := gitopstest.ServeSSH(t, dir, pub)
		_, otherHosts := gitopstest.ServeSSH(t, dir, pub)
		t.Setenv("SSH_KNOWN_HOSTS", otherHosts)
		if _, err := gitops.Open(ctx, gitops.Options{Repo: url, Auth: gitops.Auth{SSHKeyFile: key}}); err == nil || !strings.Contains(err.Error(), "knownhosts") {
			t.Fatalf("Open with a known_hosts file that does not list the server: %v, want a knownhosts error", err)
		}
	})

	// Auth.KnownHosts is used instead of $SSH_KNOWN_HOSTS: a caller (the CLI,
	// with its environment passed in) chooses the files.
	t.Run("known hosts from Auth", func(t *testing.T) {
		dir, _, seeded := seed(t)
		key, pub := gitopstest.NewSSHKey(t, "")
		url, knownHosts := gitopstest.ServeSSH(t, dir, pub)
		_, otherHosts := gitopstest.ServeSSH(t, dir, pub)
		t.Setenv("SSH_KNOWN_HOSTS", otherHosts)
		r := open(t, gitops.Options{Repo: url, Auth: gitops.Auth{SSHKeyFile: key, KnownHosts: []string{knownHosts}}})
		if r.Head() != seeded {
			t.Fatalf("Head = %s, want %s", r.Head(), seeded)
		}
		t.Setenv("SSH_KNOWN_HOSTS", knownHosts)
		if _, err := gitops.Open(ctx, gitops.Options{Repo: url, Auth: gitops.Auth{SSHKeyFile: key, KnownHosts: []string{otherHosts}}}); err == nil || !strings.Contains(err.Error(), "knownhosts") {
			t.Fatalf("Open with Auth.KnownHosts not listing the server: %v, want a knownhosts error", err)
		}
	})
}
