package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"golang.org/x/crypto/ssh"

	"github.com/bgrender/bgrender/pkg/forge/forgetest"
	"github.com/bgrender/bgrender/pkg/gitops/gitopstest"
)

const signerEmail = "release-bot@bgrender.invalid"

// verifyEnv is the environment of git and gpg in the signing tests: no user
// or system configuration.
func verifyEnv(t *testing.T, extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}, extra...)
}

// verifyCommits runs git verify-commit on every commit of branch.
func verifyCommits(t *testing.T, gitDir, branch string, env []string, config ...string) {
	t.Helper()
	log := gitopstest.Log(t, "file://"+gitDir, branch)
	if len(log) == 0 {
		t.Fatalf("no commits on %s", branch)
	}
	for _, c := range log {
		args := []string{"--git-dir", gitDir}
		for _, kv := range config {
			args = append(args, "-c", kv)
		}
		cmd := exec.Command("git", append(args, "verify-commit", "--raw", c.Hash.String())...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("git verify-commit %s (%s): %v\n%s", c.Hash, firstLine(c.Message), err, out)
		}
	}
}

// TestSignedCommitsSSH: with --sign-key an OpenSSH key, every commit
// bgrender makes, a pull request's included, verifies with git's
// gpg.format=ssh; a passphrase-protected key needs its passphrase.
func TestSignedCommitsSSH(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const passphrase = "sign-PASS-phrase"
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(t.TempDir(), "allowed_signers")
	line := fmt.Sprintf("%s namespaces=\"git\" %s", signerEmail, bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub)))
	if err := os.WriteFile(allowed, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	dir, url := gitopstest.NewRemote(t, "main")
	e := &env{t: t, url: url, app: "apps/myapp", branch: "main"}
	sign := []string{"--author-email", signerEmail, "--sign-key", keyFile}

	r := e.run(2, append(sign, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")...)
	if !strings.Contains(r.stderr, "--sign-key") || !strings.Contains(r.stderr, "passphrase") {
		t.Errorf("a protected key without its passphrase: %q, want it to name --sign-key and the passphrase", r.stderr)
	}
	if gitopstest.Head(t, url, "main").String() != strings.Repeat("0", 40) {
		t.Fatal("a refused signing key still committed")
	}
	setenv(t, "BGRENDER_SIGN_KEY_PASSPHRASE", passphrase)
	e.run(0, append(sign, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")...)
	for _, v := range []string{"v1", "v2"} {
		e.run(0, append(sign, "deploy", "--version", v)...)
		e.run(0, append(sign, "promote", "--force", "--reason", "test")...)
	}
	setenv(t, "GITHUB_TOKEN", "tok")
	srv := forgetest.New(t, "github", "acme/env", "tok")
	r = e.run(0, append(sign, "-o", "json", "rollback", "--pr", "--forge", "github", "--forge-url", srv.URL, "--forge-repo", "acme/env")...)
	var out transitionResult
	decodeJSON(t, r.stdout, &out)

	cfg := []string{"gpg.format=ssh", "gpg.ssh.allowedSignersFile=" + allowed}
	verifyCommits(t, dir, "main", verifyEnv(t), cfg...)
	verifyCommits(t, dir, out.PR.Branch, verifyEnv(t), cfg...)
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, passphrase) {
			t.Error("the passphrase is in the output")
		}
	}

	// Without --sign-key, commits are unsigned, and verify-commit says so.
	e.run(0, "decommission")
	cmd := exec.Command("git", "--git-dir", dir, "-c", cfg[0], "-c", cfg[1], "verify-commit", gitopstest.Head(t, url, "main").String())
	cmd.Env = verifyEnv(t)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("an unsigned commit verified:\n%s", out)
	}
}

// TestSignedCommitsOpenPGP: with an armored OpenPGP private key, commits
// verify with git verify-commit against gpg holding the public key.
func TestSignedCommitsOpenPGP(t *testing.T) {
	t.Parallel()
	ent, err := openpgp.NewEntity("Release Bot", "", signerEmail, nil)
	if err != nil {
		t.Fatal(err)
	}
	armored := func(typ string, write func(w *bytes.Buffer) error) []byte {
		var buf, body bytes.Buffer
		if err := write(&body); err != nil {
			t.Fatal(err)
		}
		w, err := armor.Encode(&buf, typ, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body.Bytes())
		w.Close()
		return buf.Bytes()
	}
	private := armored(openpgp.PrivateKeyType, func(b *bytes.Buffer) error { return ent.SerializePrivate(b, nil) })
	public := armored(openpgp.PublicKeyType, func(b *bytes.Buffer) error { return ent.Serialize(b) })
	keyFile := filepath.Join(t.TempDir(), "release-bot.asc")
	if err := os.WriteFile(keyFile, private, 0o600); err != nil {
		t.Fatal(err)
	}
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	gpgEnv := verifyEnv(t, "GNUPGHOME="+home)
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = gpgEnv
		kill.Run()
		os.RemoveAll(home)
	})
	imp := exec.Command("gpg", "--batch", "--import")
	imp.Env, imp.Stdin = gpgEnv, bytes.NewReader(public)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}

	dir, url := gitopstest.NewRemote(t, "main")
	e := &env{t: t, url: url, app: "apps/myapp", branch: "main"}
	setenv(t, "BGRENDER_SIGN_KEY", keyFile)
	e.run(0, "--author-email", signerEmail, "init", "--name", "myapp", "--image", "ghcr.io/acme/myapp")
	e.run(0, "--author-email", signerEmail, "deploy", "--version", "v1")
	verifyCommits(t, dir, "main", gpgEnv)
}
