package gitops

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// Signer signs commits. Sign gets the commit as git encodes it without a
// signature and returns the armored signature that goes into the commit's
// gpgsig header: an OpenPGP signature, or an SSH signature (SSHSIG) for
// git's gpg.format=ssh. The interface is go-git's git.Signer.
//
// NewOpenPGPSigner and NewSSHSigner make one from a private key, LoadSigner
// from a key file; DescribeSigner tells which key they sign with.
type Signer interface {
	Sign(message io.Reader) ([]byte, error)
}

// Errors about the passphrase of a signing key. Test for them with
// errors.Is (a caller can ask for the passphrase and retry on
// ErrPassphraseRequired). The passphrase itself is never in an error.
var (
	// ErrPassphraseRequired: the key is encrypted and no passphrase was given.
	ErrPassphraseRequired = errors.New("the key is passphrase-protected and no passphrase was given")
	// ErrWrongPassphrase: the passphrase does not decrypt the key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
)

// SignerInfo describes the key a Signer signs with, for output.
type SignerInfo struct {
	// Format is "openpgp" or "ssh" (git's gpg.format).
	Format string
	// KeyType is the key's algorithm: "ed25519", "rsa3072", "ecdsa"... for
	// OpenPGP; the SSH key type for SSH ("ssh-ed25519", "ssh-rsa",
	// "ecdsa-sha2-nistp256").
	KeyType string
	// Fingerprint identifies the key that signs. OpenPGP: the signing
	// (sub)key's fingerprint in upper-case hex, as `git verify-commit` shows
	// it ("using ... key FINGERPRINT"). SSH: "SHA256:..." as `ssh-keygen -l`
	// and `git verify-commit` show it.
	Fingerprint string
	// UserID is the primary user ID of an OpenPGP key ("Name <email>"); empty
	// for SSH keys.
	UserID string
	// PublicKey is the SSH public key in authorized_keys form, without a
	// newline: what git's allowed signers file lists after the principal.
	// Empty for OpenPGP keys.
	PublicKey string
}

// DescribeSigner returns what s signs with, when s is one of this package's
// signers; ok is false for any other Signer.
func DescribeSigner(s Signer) (info SignerInfo, ok bool) {
	d, ok := s.(interface{ signerInfo() SignerInfo })
	if !ok {
		return SignerInfo{}, false
	}
	return d.signerInfo(), true
}

// signerAt is a Signer whose signature records a time (OpenPGP): signCommit
// passes the commit's committer time, so that the same commit gets the same
// signature and the same hash, whenever it is made.
type signerAt interface {
	signAt(message io.Reader, t time.Time) ([]byte, error)
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
	var sig []byte
	if sa, ok := s.(signerAt); ok {
		sig, err = sa.signAt(r, commit.Committer.When)
	} else {
		sig, err = s.Sign(r)
	}
	if err != nil {
		return fmt.Errorf("sign commit: %w", err)
	}
	commit.PGPSignature = string(sig)
	return nil
}

// What LoadSigner takes, for its error messages.
const (
	wantSignKey       = "want an armored OpenPGP private key (gpg --export-secret-keys --armor KEYID) or an SSH private key (such as ~/.ssh/id_ed25519)"
	wantOpenPGPSecret = "give the armored private key (gpg --export-secret-keys --armor KEYID)"
	wantSSHSecret     = "give the private key file (the one without .pub, such as ~/.ssh/id_ed25519)"
)

// LoadSigner reads the private key in the file at path and returns a Signer
// for it, choosing by the file's content: an armored OpenPGP private key
// ("-----BEGIN PGP PRIVATE KEY BLOCK-----", as gpg --export-secret-keys
// --armor writes it) gives an OpenPGP signer (NewOpenPGPSigner), an SSH
// private key (OpenSSH, PKCS#1, PKCS#8 or SEC1 PEM) an SSH signer
// (NewSSHSigner). passphrase decrypts an encrypted key; "" means none. A
// public key, a binary OpenPGP key or anything else is an error that names
// the file and says what to give instead.
func LoadSigner(path string, passphrase string) (Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w; %s", err, wantSignKey)
	}
	s, err := loadSigner(data, []byte(passphrase))
	if err != nil {
		return nil, redact(fmt.Errorf("signing key %s: %w", path, err), []string{passphrase})
	}
	return s, nil
}

func loadSigner(data, passphrase []byte) (Signer, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("the file is empty; %s", wantSignKey)
	}
	block, ok := armorType(data)
	switch {
	case !ok:
		// No armor: a one-line SSH public key, or binary OpenPGP.
		if _, _, _, _, err := ssh.ParseAuthorizedKey(data); err == nil {
			return nil, fmt.Errorf("it is an SSH public key; %s", wantSSHSecret)
		}
		if isBinaryOpenPGPKey(data) {
			return nil, fmt.Errorf("it is a binary OpenPGP key; %s", wantOpenPGPSecret)
		}
		return nil, fmt.Errorf("not a key this program knows; %s", wantSignKey)
	case block == openpgp.PrivateKeyType:
		return NewOpenPGPSigner(data, passphrase)
	case block == openpgp.PublicKeyType:
		return nil, fmt.Errorf("it is an OpenPGP public key; %s", wantOpenPGPSecret)
	case strings.HasPrefix(block, "PGP "):
		return nil, fmt.Errorf("it is an OpenPGP %s, not a key; %s", strings.ToLower(strings.TrimPrefix(block, "PGP ")), wantOpenPGPSecret)
	case block == "OPENSSH PRIVATE KEY", block == "RSA PRIVATE KEY", block == "EC PRIVATE KEY",
		block == "PRIVATE KEY", block == "DSA PRIVATE KEY":
		return NewSSHSigner(data, passphrase)
	case block == "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("encrypted PKCS#8 keys are not supported; rewrite the key in OpenSSH format (ssh-keygen -p -f FILE)")
	case block == "SSH2 PUBLIC KEY", block == "PUBLIC KEY", block == "RSA PUBLIC KEY":
		return nil, fmt.Errorf("it is a public key; %s", wantSSHSecret)
	default:
		return nil, fmt.Errorf("it holds a %q block, not a private key; %s", block, wantSignKey)
	}
}

// armorType returns the type of the first armored or PEM block in data:
// "PGP PRIVATE KEY BLOCK" for "-----BEGIN PGP PRIVATE KEY BLOCK-----".
func armorType(data []byte) (string, bool) {
	const begin, dashes = "-----BEGIN ", "-----"
	for line := range bytes.Lines(data) {
		l := strings.TrimSpace(string(line))
		if strings.HasPrefix(l, begin) && strings.HasSuffix(l, dashes) && len(l) > len(begin)+len(dashes) {
			return l[len(begin) : len(l)-len(dashes)], true
		}
	}
	return "", false
}

// isBinaryOpenPGPKey reports whether data starts with an OpenPGP secret-key
// or public-key packet (RFC 9580 section 4.2).
func isBinaryOpenPGPKey(data []byte) bool {
	b := data[0]
	if b&0x80 == 0 {
		return false
	}
	tag := b & 0x3f // new format
	if b&0x40 == 0 {
		tag = (b & 0x3c) >> 2 // legacy format
	}
	return tag == 5 || tag == 6
}

// openPGPSigner makes armored detached OpenPGP signatures, as gpg
// --detach-sign --armor does for git.
type openPGPSigner struct {
	entity *openpgp.Entity
	key    openpgp.Key // the (sub)key that signs, decrypted
	info   SignerInfo
}

// NewOpenPGPSigner returns a Signer that makes armored detached OpenPGP
// signatures (what git puts in gpgsig with gpg.format=openpgp) with the key
// in armoredPrivateKey, as gpg --export-secret-keys --armor KEYID writes it.
// It signs with the newest valid signing subkey, else the primary key when
// that may sign. passphrase decrypts the signing key when it is encrypted.
// The armored text must hold one private key (public keys next to it are
// ignored).
//
// Through Repo.Apply, a signature's time is the commit's committer time, so
// signing is repeatable; Sign called directly signs at the current time.
func NewOpenPGPSigner(armoredPrivateKey []byte, passphrase []byte) (Signer, error) {
	// ReadArmoredKeyRing reads the first armored block only.
	if n := bytes.Count(armoredPrivateKey, []byte("-----BEGIN "+openpgp.PrivateKeyType+"-----")); n > 1 {
		return nil, fmt.Errorf("%d armored OpenPGP private key blocks: export only the key to sign with (gpg --export-secret-keys --armor KEYID)", n)
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armoredPrivateKey))
	if err != nil {
		return nil, fmt.Errorf("read OpenPGP key: %w", err)
	}
	var secret []*openpgp.Entity
	for _, e := range el {
		if e.PrivateKey != nil {
			secret = append(secret, e)
		}
	}
	switch len(secret) {
	case 0:
		return nil, fmt.Errorf("no OpenPGP private key, only public keys; %s", wantOpenPGPSecret)
	case 1:
	default:
		fprs := make([]string, len(secret))
		for i, e := range secret {
			fprs[i] = fingerprint(e.PrimaryKey.Fingerprint)
		}
		return nil, fmt.Errorf("%d OpenPGP private keys (%s): export only the one to sign with (gpg --export-secret-keys --armor KEYID)", len(secret), strings.Join(fprs, ", "))
	}
	e := secret[0]
	primary := fingerprint(e.PrimaryKey.Fingerprint)
	key, ok := e.SigningKey(time.Now())
	if !ok {
		return nil, fmt.Errorf("OpenPGP key %s has no valid key that may sign (expired, revoked, or none with the sign capability)", primary)
	}
	fpr := fingerprint(key.PublicKey.Fingerprint)
	if key.PrivateKey == nil || key.PrivateKey.Dummy() {
		return nil, fmt.Errorf("OpenPGP key %s: the secret part of its signing key %s is not in the file (a stub: on a smartcard, or exported without it)", primary, fpr)
	}
	if key.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("OpenPGP signing key %s: %w", fpr, ErrPassphraseRequired)
		}
		if err := key.PrivateKey.Decrypt(passphrase); err != nil {
			var unsupported pgperrors.UnsupportedError
			if errors.As(err, &unsupported) {
				return nil, fmt.Errorf("decrypt OpenPGP signing key %s: %w", fpr, err)
			}
			return nil, fmt.Errorf("decrypt OpenPGP signing key %s: %w", fpr, ErrWrongPassphrase)
		}
	}
	info := SignerInfo{Format: "openpgp", KeyType: openPGPKeyType(key.PublicKey), Fingerprint: fpr}
	if id := e.PrimaryIdentity(); id != nil {
		info.UserID = id.Name
	}
	return &openPGPSigner{entity: e, key: key, info: info}, nil
}

// Sign returns an armored detached signature of message made now.
func (s *openPGPSigner) Sign(message io.Reader) ([]byte, error) {
	return s.sign(message, nil)
}

func (s *openPGPSigner) signAt(message io.Reader, t time.Time) ([]byte, error) {
	if created := s.key.PublicKey.CreationTime; t.Before(created) {
		return nil, fmt.Errorf("the commit time %s is before OpenPGP key %s was created (%s): gpg would reject the signature", t.UTC().Format(time.RFC3339), s.info.Fingerprint, created.UTC().Format(time.RFC3339))
	}
	return s.sign(message, func() time.Time { return t })
}

func (s *openPGPSigner) sign(message io.Reader, now func() time.Time) ([]byte, error) {
	cfg := &packet.Config{
		DefaultHash:  crypto.SHA512,
		SigningKeyId: s.key.PublicKey.KeyId,
		Time:         now,
	}
	var out bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&out, s.entity, message, cfg); err != nil {
		return nil, fmt.Errorf("OpenPGP signature with key %s: %w", s.info.Fingerprint, err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func (s *openPGPSigner) signerInfo() SignerInfo { return s.info }

func fingerprint(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func openPGPKeyType(pk *packet.PublicKey) string {
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		if bits, err := pk.BitLength(); err == nil {
			return fmt.Sprintf("rsa%d", bits)
		}
		return "rsa"
	case packet.PubKeyAlgoDSA:
		return "dsa"
	case packet.PubKeyAlgoECDSA, packet.PubKeyAlgoEdDSA:
		c, err := pk.Curve()
		switch {
		case err != nil:
			return "ecc"
		case c == packet.Curve25519:
			return "ed25519"
		case c == packet.Curve448:
			return "ed448"
		default:
			return "ecdsa-" + strings.ToLower(string(c))
		}
	case packet.PubKeyAlgoEd25519:
		return "ed25519"
	case packet.PubKeyAlgoEd448:
		return "ed448"
	default:
		return fmt.Sprintf("algorithm %d", pk.PubKeyAlgo)
	}
}
