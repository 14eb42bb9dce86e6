package gitops_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"

	"github.com/bgrender/bgrender/pkg/gitops"
)

// The signed commits' author and committer, whose email is the principal of
// the SSH allowed signers files and the user ID of the OpenPGP keys. Keys
// are made at keyTime, before the commits.
const (
	signerName  = "Dev"
	signerEmail = "dev@bgrender.invalid"
	// passphrase protects keys; wrongPassphrase is what a user mistypes.
	// Neither may show up in an error.
	passphrase      = "correct-horse-7f3a9c"
	wrongPassphrase = "wrong-horse-1b2e4d"
)

var keyTime = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

func signAuthor() gitops.Signature {
	return gitops.Signature{Name: signerName, Email: signerEmail, When: time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))}
}

// TestSignOpenPGP signs commits made by Apply with OpenPGP keys and checks
// them with git verify-commit (gpg) and go-git's Commit.Verify, and that a
// tampered commit or another key fails both.
func TestSignOpenPGP(t *testing.T) {
	t.Parallel()
	needTool(t, "git", "git")
	needTool(t, "gpg", "gnupg")
	other := newOpenPGPKey(t, openPGPKeyOptions{})

	for _, tt := range []struct {
		name       string
		key        func(t *testing.T) openPGPKey
		passphrase string
		keyType    string
	}{
		{name: "ed25519", keyType: "ed25519", key: func(t *testing.T) openPGPKey { return newOpenPGPKey(t, openPGPKeyOptions{}) }},
		{name: "rsa", keyType: "rsa2048", key: func(t *testing.T) openPGPKey { return newOpenPGPKey(t, openPGPKeyOptions{rsa: true}) }},
		{name: "passphrase", keyType: "ed25519", passphrase: passphrase, key: func(t *testing.T) openPGPKey {
			return newOpenPGPKey(t, openPGPKeyOptions{passphrase: passphrase})
		}},
		{name: "signing subkey", keyType: "ed25519", key: func(t *testing.T) openPGPKey { return newOpenPGPKey(t, openPGPKeyOptions{signingSubkey: true}) }},
		{name: "exported by gpg", keyType: "ed25519", passphrase: passphrase, key: gpgGeneratedKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.key(t)
			s, err := gitops.LoadSigner(writeFile(t, "key.asc", key.private), tt.passphrase)
			if err != nil {
				t.Fatalf("LoadSigner: %v", err)
			}
			info, ok := gitops.DescribeSigner(s)
			want := gitops.SignerInfo{Format: "openpgp", KeyType: tt.keyType, Fingerprint: key.signingFingerprint, UserID: signerName + " <" + signerEmail + ">"}
			if !ok || info != want {
				t.Errorf("DescribeSigner = %+v, %v; want %+v", info, ok, want)
			}

			dir, h := signedCommit(t, s)
			c := readCommit(t, dir, h)
			if !strings.HasPrefix(c.PGPSignature, "-----BEGIN PGP SIGNATURE-----\n") {
				t.Fatalf("signature:\n%s", c.PGPSignature)
			}

			// The signature is made at the commit's time, not the clock's.
			if got := openPGPSigTime(t, c.PGPSignature); !got.Equal(signAuthor().When) {
				t.Errorf("signature made at %s, want the commit time %s", got, signAuthor().When)
			}

			home := gpgHome(t, key.public)
			out, err := gitVerify(t, dir, h, "GNUPGHOME="+home)
			if err != nil {
				t.Fatalf("git verify-commit: %v\n%s", err, out)
			}
			// VALIDSIG names the key that made the signature, then the primary key.
			if wantSig := "[GNUPG:] VALIDSIG " + key.signingFingerprint; !strings.Contains(out, wantSig) || !strings.Contains(out, key.primaryFingerprint) {
				t.Errorf("git verify-commit: want %q and primary key %s in:\n%s", wantSig, key.primaryFingerprint, out)
			}
			if e, err := c.Verify(string(key.public)); err != nil {
				t.Errorf("Commit.Verify: %v", err)
			} else if got := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint); got != key.primaryFingerprint {
				t.Errorf("Commit.Verify: signed by %s, want %s", got, key.primaryFingerprint)
			}

			t.Run("tampered commit fails", func(t *testing.T) {
				bad := tamper(t, dir, h)
				if out, err := gitVerify(t, dir, bad, "GNUPGHOME="+home); err == nil || !strings.Contains(out, "BADSIG") {
					t.Errorf("git verify-commit of a tampered commit: err %v, want BADSIG in:\n%s", err, out)
				}
				if _, err := readCommit(t, dir, bad).Verify(string(key.public)); err == nil {
					t.Error("Commit.Verify of a tampered commit succeeded")
				}
			})
			t.Run("other key fails", func(t *testing.T) {
				if out, err := gitVerify(t, dir, h, "GNUPGHOME="+gpgHome(t, other.public)); err == nil || !strings.Contains(out, "NO_PUBKEY") {
					t.Errorf("git verify-commit with another key: err %v, want NO_PUBKEY in:\n%s", err, out)
				}
				if _, err := c.Verify(string(other.public)); err == nil {
					t.Error("Commit.Verify with another key succeeded")
				}
			})
		})
	}
}

// TestSignSSH signs commits made by Apply with SSH keys and checks them with
// git verify-commit (ssh-keygen -Y verify) and against PROTOCOL.sshsig, and
// that a tampered commit or another key fails.
func TestSignSSH(t *testing.T) {
	t.Parallel()
	needTool(t, "git", "git")
	needTool(t, "ssh-keygen", "openssh-client")
	other := newSSHKey(t, ed25519Key(t), "")

	for _, tt := range []struct {
		name       string
		key        func(t *testing.T) sshKey
		passphrase string
		sigAlg     string // the signature's algorithm
	}{
		{name: "ed25519", sigAlg: ssh.KeyAlgoED25519, key: func(t *testing.T) sshKey { return newSSHKey(t, ed25519Key(t), "") }},
		{name: "ed25519 passphrase", sigAlg: ssh.KeyAlgoED25519, passphrase: passphrase, key: func(t *testing.T) sshKey {
			return newSSHKey(t, ed25519Key(t), passphrase)
		}},
		{name: "rsa", sigAlg: ssh.KeyAlgoRSASHA512, key: func(t *testing.T) sshKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			return newSSHKey(t, k, "")
		}},
		{name: "ecdsa p256", sigAlg: ssh.KeyAlgoECDSA256, key: func(t *testing.T) sshKey { return newSSHKey(t, ecdsaKey(t, elliptic.P256()), "") }},
		{name: "ecdsa p384 passphrase", sigAlg: ssh.KeyAlgoECDSA384, passphrase: passphrase, key: func(t *testing.T) sshKey {
			return newSSHKey(t, ecdsaKey(t, elliptic.P384()), passphrase)
		}},
		{name: "ecdsa p521", sigAlg: ssh.KeyAlgoECDSA521, key: func(t *testing.T) sshKey { return newSSHKey(t, ecdsaKey(t, elliptic.P521()), "") }},
		{name: "made by ssh-keygen", sigAlg: ssh.KeyAlgoED25519, passphrase: passphrase, key: sshKeygenKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.key(t)
			s, err := gitops.LoadSigner(writeFile(t, "id", key.private), tt.passphrase)
			if err != nil {
				t.Fatalf("LoadSigner: %v", err)
			}
			info, ok := gitops.DescribeSigner(s)
			want := gitops.SignerInfo{Format: "ssh", KeyType: key.pub.Type(), Fingerprint: ssh.FingerprintSHA256(key.pub), PublicKey: authorizedKey(key.pub)}
			if !ok || info != want {
				t.Errorf("DescribeSigner = %+v, %v; want %+v", info, ok, want)
			}

			dir, h := signedCommit(t, s)
			c := readCommit(t, dir, h)
			checkSSHSig(t, c, key.pub, tt.sigAlg)

			signers := allowedSigners(t, key.pub)
			out, err := gitVerify(t, dir, h, "", "gpg.format=ssh", "gpg.ssh.allowedSignersFile="+signers)
			if err != nil {
				t.Fatalf("git verify-commit: %v\n%s", err, out)
			}
			wantOut := fmt.Sprintf("Good %q signature for %s with ", "git", signerEmail)
			if !strings.Contains(out, wantOut) || !strings.Contains(out, info.Fingerprint) {
				t.Errorf("git verify-commit: want %q and %s in:\n%s", wantOut, info.Fingerprint, out)
			}

			t.Run("tampered commit fails", func(t *testing.T) {
				bad := tamper(t, dir, h)
				if out, err := gitVerify(t, dir, bad, "", "gpg.format=ssh", "gpg.ssh.allowedSignersFile="+signers); err == nil || strings.Contains(out, "Good") {
					t.Errorf("git verify-commit of a tampered commit: err %v, want no good signature in:\n%s", err, out)
				}
			})
			t.Run("other key fails", func(t *testing.T) {
				if out, err := gitVerify(t, dir, h, "", "gpg.format=ssh", "gpg.ssh.allowedSignersFile="+allowedSigners(t, other.pub)); err == nil || !strings.Contains(out, "No principal matched") {
					t.Errorf("git verify-commit with another allowed signer: err %v, want \"No principal matched\" in:\n%s", err, out)
				}
			})
		})
	}
}

// TestSignDeterministic: the same change signed with the same ed25519 SSH
// key gives the same commit (ed25519 signatures are deterministic), so a
// repeated Apply is reproducible. (OpenPGP signatures carry a random salt,
// see TestSignOpenPGP for their time.)
func TestSignDeterministic(t *testing.T) {
	t.Parallel()
	key := newSSHKey(t, ed25519Key(t), "")
	var commits []plumbing.Hash
	for range 2 {
		s, err := gitops.NewSSHSigner(key.private, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, h := signedCommit(t, s)
		commits = append(commits, h)
	}
	if commits[0] != commits[1] {
		t.Errorf("two signed commits of the same change: %s and %s", commits[0], commits[1])
	}
}

// TestSignOpenPGPSignDirectly: Sign, as go-git calls it, signs at the current
// time; a commit dated before the key was made is refused rather than signed
// so that gpg would reject it.
func TestSignOpenPGPSignDirectly(t *testing.T) {
	t.Parallel()
	key := newOpenPGPKey(t, openPGPKeyOptions{})
	s, err := gitops.NewOpenPGPSigner(key.private, nil)
	if err != nil {
		t.Fatal(err)
	}
	const msg = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmessage\n"
	sig, err := s.Sign(strings.NewReader(msg))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	keyring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(key.public))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(msg), bytes.NewReader(sig), nil); err != nil {
		t.Errorf("check signature: %v\n%s", err, sig)
	}
	if _, err := openpgp.CheckArmoredDetachedSignature(keyring, strings.NewReader(msg+"x"), bytes.NewReader(sig), nil); err == nil {
		t.Error("the signature checks for another message")
	}

	_, url := seedRemote(t)
	r := open(t, gitops.Options{Repo: url, Push: true, Signer: s})
	ch := appChange(1)
	ch.Author = signAuthor()
	ch.Author.When = keyTime.Add(-time.Hour)
	if _, err := r.Apply(context.Background(), ch); err == nil || !strings.Contains(err.Error(), "before OpenPGP key") {
		t.Errorf("Apply of a commit older than the key: %v, want an error", err)
	}
}

// TestLoadSignerErrors: what LoadSigner says about files it cannot sign
// with. Each error names the file (but never the passphrase) and says what
// to give instead.
func TestLoadSignerErrors(t *testing.T) {
	t.Parallel()
	pgp := newOpenPGPKey(t, openPGPKeyOptions{})
	pgpEncrypted := newOpenPGPKey(t, openPGPKeyOptions{passphrase: passphrase})
	pgpOther := newOpenPGPKey(t, openPGPKeyOptions{})
	pgpExpired := newOpenPGPKey(t, openPGPKeyOptions{lifetime: time.Hour})
	sshPlain := newSSHKey(t, ed25519Key(t), "")
	sshEncrypted := newSSHKey(t, ed25519Key(t), passphrase)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	legacyPEM, err := x509EncryptedPEM(rsaKey, passphrase)
	if err != nil {
		t.Fatal(err)
	}

	var twoKeysBuf bytes.Buffer
	w, err := armor.Encode(&twoKeysBuf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []openPGPKey{pgp, pgpOther} {
		if err := k.entity.SerializePrivateWithoutSigning(w, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	twoKeys := twoKeysBuf.Bytes()

	var binaryPGP bytes.Buffer
	if err := pgp.entity.SerializePrivateWithoutSigning(&binaryPGP, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	for _, tt := range []struct {
		name       string
		content    []byte // nil: no file
		passphrase string
		want       []string // in the error, besides the file name
		wantIs     error
	}{
		{name: "missing file", want: []string{"no such file", "want an armored OpenPGP private key (gpg --export-secret-keys --armor KEYID) or an SSH private key"}},
		{name: "empty", content: []byte("\n"), want: []string{"empty", "want an armored OpenPGP private key"}},
		{name: "garbage", content: []byte("hello, world\n"), want: []string{"not a key", "or an SSH private key (such as ~/.ssh/id_ed25519)"}},
		{name: "openpgp public key", content: pgp.public, want: []string{"is an OpenPGP public key; give the armored private key (gpg --export-secret-keys --armor KEYID)"}},
		{name: "openpgp binary key", content: binaryPGP.Bytes(), want: []string{"is a binary OpenPGP key; give the armored private key (gpg --export-secret-keys --armor KEYID)"}},
		{name: "openpgp signature", content: []byte("-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"), want: []string{"is an OpenPGP signature, not a key"}},
		{name: "openpgp two keys", content: twoKeys, want: []string{"2 OpenPGP private keys", pgp.primaryFingerprint, pgpOther.primaryFingerprint, "export only the one to sign with"}},
		{name: "openpgp two blocks", content: append(append([]byte{}, pgp.private...), pgpOther.private...), want: []string{"2 armored OpenPGP private key blocks", "export only the key to sign with"}},
		{name: "openpgp expired", content: pgpExpired.private, want: []string{"OpenPGP key " + pgpExpired.primaryFingerprint + " has no valid key that may sign"}},
		{name: "openpgp no passphrase", content: pgpEncrypted.private, wantIs: gitops.ErrPassphraseRequired, want: []string{pgpEncrypted.signingFingerprint, "passphrase-protected and no passphrase was given"}},
		{name: "openpgp wrong passphrase", content: pgpEncrypted.private, passphrase: wrongPassphrase, wantIs: gitops.ErrWrongPassphrase, want: []string{pgpEncrypted.signingFingerprint, "wrong passphrase"}},
		{name: "ssh public key", content: []byte(authorizedKey(sshPlain.pub) + " dev@host\n"), want: []string{"is an SSH public key; give the private key file (the one without .pub, such as ~/.ssh/id_ed25519)"}},
		{name: "ssh no passphrase", content: sshEncrypted.private, wantIs: gitops.ErrPassphraseRequired, want: []string{"SSH key " + ssh.FingerprintSHA256(sshEncrypted.pub), "no passphrase was given"}},
		{name: "ssh wrong passphrase", content: sshEncrypted.private, passphrase: wrongPassphrase, wantIs: gitops.ErrWrongPassphrase, want: []string{"SSH key " + ssh.FingerprintSHA256(sshEncrypted.pub), "wrong passphrase"}},
		{name: "legacy pem wrong passphrase", content: legacyPEM, passphrase: wrongPassphrase, wantIs: gitops.ErrWrongPassphrase, want: []string{"wrong passphrase"}},
		{name: "ssh broken key", content: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), want: []string{"read SSH private key"}},
		{name: "pkcs8 encrypted", content: []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), want: []string{"encrypted PKCS#8 keys are not supported", "ssh-keygen -p"}},
		{name: "certificate", content: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), want: []string{`"CERTIFICATE" block, not a private key`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if tt.content != nil {
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := gitops.LoadSigner(path, tt.passphrase)
			if err == nil {
				t.Fatalf("LoadSigner = %v, want an error", s)
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tt.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\nwant %q in it", msg, w)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", msg, tt.wantIs)
			}
			for _, p := range []string{passphrase, wrongPassphrase} {
				if strings.Contains(msg, p) {
					t.Errorf("error %q shows the passphrase", msg)
				}
			}
		})
	}

	t.Run("passphrase for a plain key", func(t *testing.T) {
		for _, content := range [][]byte{sshPlain.private, pgp.private} {
			if _, err := gitops.LoadSigner(writeFile(t, "key", content), passphrase); err != nil {
				t.Errorf("LoadSigner of a key without passphrase, given one: %v", err)
			}
		}
	})
	t.Run("legacy pem", func(t *testing.T) {
		if _, err := gitops.LoadSigner(writeFile(t, "key", legacyPEM), passphrase); err != nil {
			t.Errorf("LoadSigner: %v", err)
		}
	})
	t.Run("other signer", func(t *testing.T) {
		if info, ok := gitops.DescribeSigner(signerFunc(nil)); ok {
			t.Errorf("DescribeSigner of a foreign Signer = %+v, true", info)
		}
	})
}

// ExampleNewSSHSigner signs with an ed25519 key, as git does with
// gpg.format=ssh.
func ExampleNewSSHSigner() {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize) // a real key comes from a file: LoadSigner
	block, err := ssh.MarshalPrivateKey(ed25519.NewKeyFromSeed(seed), "")
	if err != nil {
		panic(err)
	}
	s, err := gitops.NewSSHSigner(pem.EncodeToMemory(block), nil)
	if err != nil {
		panic(err)
	}
	info, _ := gitops.DescribeSigner(s)
	fmt.Println(info.Format, info.KeyType, info.Fingerprint)

	sig, err := s.Sign(strings.NewReader("the commit, as git encodes it\n"))
	if err != nil {
		panic(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(sig), "\n"), "\n")
	fmt.Println(lines[0])
	fmt.Println(lines[len(lines)-1])
	// Output:
	// ssh ssh-ed25519 SHA256:z/fSv0Z0RZS+Lccbc6ZoOWwt/fbj1VFJGSBKQbo4icE
	// -----BEGIN SSH SIGNATURE-----
	// -----END SSH SIGNATURE-----
}

type signerFunc func(io.Reader) ([]byte, error)

func (f signerFunc) Sign(r io.Reader) ([]byte, error) { return f(r) }

// signedCommit seeds a fresh bare remote, opens it with Signer s and
// applies a change authored by signAuthor. It returns the remote's
// directory and the signed commit.
func signedCommit(t *testing.T, s gitops.Signer) (dir string, commit plumbing.Hash) {
	t.Helper()
	dir, url := seedRemote(t)
	r := open(t, gitops.Options{Repo: url, Push: true, Signer: s})
	ch := appChange(1)
	ch.Author = signAuthor()
	res, err := r.Apply(context.Background(), ch)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return dir, res.Commit
}

func seedRemote(t *testing.T) (dir, url string) {
	t.Helper()
	dir, url, _ = seed(t)
	return dir, url
}

func readCommit(t *testing.T, dir string, h plumbing.Hash) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		t.Fatalf("read commit %s: %v", h, err)
	}
	return c
}

// tamper stores a copy of commit h of the repository at dir with one more
// line in its message and the same signature, and returns it.
func tamper(t *testing.T, dir string, h plumbing.Hash) plumbing.Hash {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		t.Fatal(err)
	}
	store := func(c *object.Commit) plumbing.Hash {
		obj := repo.Storer.NewEncodedObject()
		if err := c.Encode(obj); err != nil {
			t.Fatal(err)
		}
		got, err := repo.Storer.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Re-encoding changes nothing, so the copy differs in its message only.
	if got := store(c); got != h {
		t.Fatalf("commit %s re-encodes as %s", h, got)
	}
	c.Message += "Tampered-With: yes\n"
	return store(c)
}

// needTool fails the test when name is not on PATH: these tests check
// signatures with the real tools.
func needTool(t *testing.T, name, debianPackage string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is needed to verify signatures (Debian package %s): %v", name, debianPackage, err)
	}
}

// toolEnv is the environment of git and gpg: no user or system
// configuration, a fresh HOME, plus extra ("K=V"; empty ones are skipped).
func toolEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"LC_ALL=C",
		"TZ=UTC",
	}
	for _, e := range extra {
		if e != "" {
			env = append(env, e)
		}
	}
	return env
}

func run(t *testing.T, env []string, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// gitVerify runs git verify-commit --raw on commit h of the bare repository
// at gitDir with env (one "K=V" or "") and config ("key=value" for -c).
func gitVerify(t *testing.T, gitDir string, h plumbing.Hash, env string, config ...string) (string, error) {
	t.Helper()
	args := []string{"--git-dir", gitDir}
	for _, c := range config {
		args = append(args, "-c", c)
	}
	args = append(args, "verify-commit", "--raw", h.String())
	return run(t, toolEnv(t, env), nil, "git", args...)
}

// gpgHome makes a GNUPGHOME with the armored public keys imported. Its path
// is short (gpg-agent's socket lives in it) and gpg-agent, if gpg started
// one, is stopped at cleanup.
func gpgHome(t *testing.T, publicKeys ...[]byte) string {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		run(t, toolEnv(t, "GNUPGHOME="+home), nil, "gpgconf", "--kill", "gpg-agent")
		os.RemoveAll(home)
	})
	// Keys protected with a cheap S2K: gpg-agent's default takes seconds.
	if err := os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("s2k-count 65536\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range publicKeys {
		if out, err := run(t, toolEnv(t, "GNUPGHOME="+home), k, "gpg", "--batch", "--import"); err != nil {
			t.Fatalf("gpg --import: %v\n%s", err, out)
		}
	}
	return home
}

type openPGPKey struct {
	entity                                 *openpgp.Entity // nil for keys made by gpg
	private, public                        []byte          // armored
	primaryFingerprint, signingFingerprint string          // upper-case hex
}

type openPGPKeyOptions struct {
	rsa           bool // else ed25519
	passphrase    string
	signingSubkey bool
	lifetime      time.Duration
}

// newOpenPGPKey makes a key for "Dev <dev@bgrender.invalid>" created at
// keyTime.
func newOpenPGPKey(t *testing.T, o openPGPKeyOptions) openPGPKey {
	t.Helper()
	cfg := &packet.Config{
		Time:            func() time.Time { return keyTime },
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Curve:           packet.Curve25519,
		KeyLifetimeSecs: uint32(o.lifetime / time.Second),
	}
	if o.rsa {
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 2048
	}
	e, err := openpgp.NewEntity(signerName, "", signerEmail, cfg)
	if err != nil {
		t.Fatal(err)
	}
	signing := e.PrimaryKey
	if o.signingSubkey {
		if err := e.AddSigningSubkey(cfg); err != nil {
			t.Fatal(err)
		}
		signing = e.Subkeys[len(e.Subkeys)-1].PublicKey
	}
	if o.passphrase != "" {
		if err := e.EncryptPrivateKeys([]byte(o.passphrase), cfg); err != nil {
			t.Fatal(err)
		}
	}
	armored := func(blockType string, write func(io.Writer) error) []byte {
		var b bytes.Buffer
		w, err := armor.Encode(&b, blockType, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(w); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
		return b.Bytes()
	}
	return openPGPKey{
		entity:             e,
		private:            armored(openpgp.PrivateKeyType, func(w io.Writer) error { return e.SerializePrivateWithoutSigning(w, nil) }),
		public:             armored(openpgp.PublicKeyType, e.Serialize),
		primaryFingerprint: fmt.Sprintf("%X", e.PrimaryKey.Fingerprint),
		signingFingerprint: fmt.Sprintf("%X", signing.Fingerprint),
	}
}

// gpgGeneratedKey has gpg make a certify-only ed25519 primary key with an
// ed25519 signing subkey and a cv25519 encryption subkey, protected with
// passphrase, and export it as gpg --export-secret-keys --armor does.
func gpgGeneratedKey(t *testing.T) openPGPKey {
	t.Helper()
	home := gpgHome(t)
	gpg := func(stdin []byte, args ...string) string {
		t.Helper()
		args = append([]string{"--batch", "--pinentry-mode", "loopback", "--passphrase", passphrase,
			"--faked-system-time", keyTime.Format("20060102T150405") + "!"}, args...)
		cmd := exec.Command("gpg", args...)
		cmd.Env = toolEnv(t, "GNUPGHOME="+home)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out)
	}
	uid := signerName + " <" + signerEmail + ">"
	gpg(nil, "--quick-gen-key", uid, "ed25519", "cert", "never")
	var k openPGPKey
	var fprs []string
	for line := range strings.Lines(gpg(nil, "--with-colons", "--list-keys", signerEmail)) {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			fprs = append(fprs, f[9])
		}
	}
	if len(fprs) != 1 {
		t.Fatalf("gpg made keys %v, want one", fprs)
	}
	k.primaryFingerprint = fprs[0]
	gpg(nil, "--quick-add-key", k.primaryFingerprint, "ed25519", "sign", "never")
	gpg(nil, "--quick-add-key", k.primaryFingerprint, "cv25519", "encr", "never")
	for line := range strings.Lines(gpg(nil, "--with-colons", "--with-subkey-fingerprints", "--list-keys", signerEmail)) {
		f := strings.Split(line, ":")
		if f[0] == "sub" && f[11] == "s" {
			k.signingFingerprint = "next"
		} else if f[0] == "fpr" && k.signingFingerprint == "next" {
			k.signingFingerprint = f[9]
		}
	}
	if k.signingFingerprint == "" || k.signingFingerprint == "next" {
		t.Fatal("gpg made no signing subkey")
	}
	k.private = []byte(gpg(nil, "--armor", "--export-secret-keys", k.primaryFingerprint))
	k.public = []byte(gpg(nil, "--armor", "--export", k.primaryFingerprint))
	return k
}

type sshKey struct {
	private []byte // OpenSSH PEM
	pub     ssh.PublicKey
}

func ed25519Key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecdsaKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newSSHKey writes key in OpenSSH format, encrypted when passphrase is set.
func newSSHKey(t *testing.T, key any, passphrase string) sshKey {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, signerEmail)
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, signerEmail, []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey{private: pem.EncodeToMemory(block), pub: s.PublicKey()}
}

// sshKeygenKey has ssh-keygen make an ed25519 key protected with
// passphrase.
func sshKeygenKey(t *testing.T) sshKey {
	t.Helper()
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := run(t, toolEnv(t), nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", signerEmail, "-f", file); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	priv, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pubLine, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
	if err != nil {
		t.Fatal(err)
	}
	return sshKey{private: priv, pub: pub}
}

func authorizedKey(pub ssh.PublicKey) string {
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
}

// allowedSigners writes a git allowed signers file that lets pub sign as
// signerEmail in namespace git.
func allowedSigners(t *testing.T, pub ssh.PublicKey) string {
	t.Helper()
	return writeFile(t, "allowed_signers", []byte(fmt.Sprintf("%s namespaces=%q %s\n", signerEmail, "git", authorizedKey(pub))))
}

func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkSSHSig checks the signature of c against OpenSSH's PROTOCOL.sshsig:
// the armor (70-column base64 lines), the blob's fields, and the signature
// over the "SSHSIG" signed data with the SHA-512 of the commit.
func checkSSHSig(t *testing.T, c *object.Commit, pub ssh.PublicKey, sigAlg string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(c.PGPSignature, "\n"), "\n")
	if len(lines) < 3 || lines[0] != "-----BEGIN SSH SIGNATURE-----" || lines[len(lines)-1] != "-----END SSH SIGNATURE-----" {
		t.Fatalf("armor:\n%s", c.PGPSignature)
	}
	body := lines[1 : len(lines)-1]
	for i, l := range body {
		if len(l) > 70 || (i < len(body)-1 && len(l) != 70) {
			t.Errorf("base64 line %d has %d characters, want 70 (less for the last):\n%s", i, len(l), c.PGPSignature)
		}
	}
	blob, err := base64.StdEncoding.DecodeString(strings.Join(body, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(blob, []byte("SSHSIG")) {
		t.Fatalf("blob does not start with SSHSIG: %q", blob)
	}
	blob = blob[6:]
	if len(blob) < 4 || binary.BigEndian.Uint32(blob) != 1 {
		t.Fatalf("version is not 1: %x", blob)
	}
	blob = blob[4:]
	next := func(field string) []byte {
		t.Helper()
		if len(blob) < 4 || uint32(len(blob)-4) < binary.BigEndian.Uint32(blob) {
			t.Fatalf("blob ends before %s", field)
		}
		n := binary.BigEndian.Uint32(blob)
		s := blob[4 : 4+n]
		blob = blob[4+n:]
		return s
	}
	gotPub, namespace, reserved, hashAlg, sigBytes := next("publickey"), next("namespace"), next("reserved"), next("hash_algorithm"), next("signature")
	if len(blob) != 0 {
		t.Errorf("%d bytes after the signature", len(blob))
	}
	if !bytes.Equal(gotPub, pub.Marshal()) || string(namespace) != "git" || len(reserved) != 0 || string(hashAlg) != "sha512" {
		t.Errorf("publickey matches %v, namespace %q, reserved %q, hash_algorithm %q; want true, git, empty, sha512",
			bytes.Equal(gotPub, pub.Marshal()), namespace, reserved, hashAlg)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(sigBytes, &sig); err != nil {
		t.Fatal(err)
	}
	if sig.Format != sigAlg {
		t.Errorf("signature algorithm %s, want %s", sig.Format, sigAlg)
	}

	var enc plumbing.MemoryObject
	if err := c.EncodeWithoutSignature(&enc); err != nil {
		t.Fatal(err)
	}
	r, _ := enc.Reader()
	h := sha512.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	str := func(b []byte) []byte { return binary.BigEndian.AppendUint32(nil, uint32(len(b))) }
	signed := []byte("SSHSIG")
	for _, f := range [][]byte{[]byte("git"), nil, []byte("sha512"), h.Sum(nil)} {
		signed = append(append(signed, str(f)...), f...)
	}
	if err := pub.Verify(signed, &sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

// openPGPSigTime is the creation time of the armored signature sig.
func openPGPSigTime(t *testing.T, sig string) time.Time {
	t.Helper()
	block, err := armor.Decode(strings.NewReader(sig))
	if err != nil {
		t.Fatal(err)
	}
	p, err := packet.Read(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		t.Fatalf("signature packet is a %T", p)
	}
	return s.CreationTime
}

// x509EncryptedPEM is k as a legacy encrypted PEM ("Proc-Type: 4,ENCRYPTED",
// what openssl and old ssh-keygen write).
func x509EncryptedPEM(k *rsa.PrivateKey, passphrase string) ([]byte, error) {
	//lint:ignore SA1019 the legacy format is what is being tested.
	block, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k), []byte(passphrase), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
}
