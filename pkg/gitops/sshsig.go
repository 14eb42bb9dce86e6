package gitops

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// The SSHSIG format of OpenSSH's PROTOCOL.sshsig, as git's gpg.format=ssh
// uses it (git signs with ssh-keygen -Y sign -n git, which hashes with
// SHA-512).
const (
	sshsigMagic     = "SSHSIG"
	sshsigVersion   = 1
	sshsigNamespace = "git"
	sshsigHash      = "sha512"
	sshsigBegin     = "-----BEGIN SSH SIGNATURE-----"
	sshsigEnd       = "-----END SSH SIGNATURE-----"
	sshsigLineLen   = 70 // ssh-keygen's base64 line length
)

// sshSigner makes SSHSIG signatures for git.
type sshSigner struct {
	signer ssh.Signer
	// algo is the signature algorithm for an ssh.AlgorithmSigner ("" signs
	// with the key type's only algorithm).
	algo string
	info SignerInfo
}

// NewSSHSigner returns a Signer that makes SSH signatures (what git puts in
// gpgsig with gpg.format=ssh) with the private key in privateKeyPEM: an
// OpenSSH key ("-----BEGIN OPENSSH PRIVATE KEY-----", as ssh-keygen writes
// it) or a PKCS#1, PKCS#8 or SEC1 PEM key, of type ed25519, ecdsa or rsa.
// passphrase decrypts an encrypted key; it is ignored for a key that is not
// encrypted.
//
// The signature is an armored SSHSIG blob (OpenSSH's PROTOCOL.sshsig) for
// namespace "git" over the SHA-512 hash of the commit, what ssh-keygen -Y
// sign -n git writes; RSA keys sign with rsa-sha2-512. Commits signed with
// it verify with git verify-commit given an allowed signers file
// (gpg.ssh.allowedSignersFile).
func NewSSHSigner(privateKeyPEM []byte, passphrase []byte) (Signer, error) {
	raw, err := ssh.ParseRawPrivateKey(privateKeyPEM)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		what := "SSH key"
		if missing.PublicKey != nil {
			what += " " + ssh.FingerprintSHA256(missing.PublicKey)
		}
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%s: %w", what, ErrPassphraseRequired)
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(privateKeyPEM, passphrase)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("decrypt %s: %w", what, ErrWrongPassphrase)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read SSH private key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("read SSH private key: %w", err)
	}
	pub := signer.PublicKey()
	s := &sshSigner{signer: signer, info: SignerInfo{
		Format:      "ssh",
		KeyType:     pub.Type(),
		Fingerprint: ssh.FingerprintSHA256(pub),
		PublicKey:   strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n"),
	}}
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	case ssh.KeyAlgoRSA:
		// ssh-rsa signatures are SHA-1, which ssh-keygen -Y verify rejects.
		if _, ok := signer.(ssh.AlgorithmSigner); !ok {
			return nil, fmt.Errorf("SSH key %s cannot sign with %s", s.info.Fingerprint, ssh.KeyAlgoRSASHA512)
		}
		s.algo = ssh.KeyAlgoRSASHA512
	default:
		return nil, fmt.Errorf("SSH key %s is of type %s; want an ed25519, ecdsa or rsa key", s.info.Fingerprint, pub.Type())
	}
	return s, nil
}

// Sign returns the armored SSHSIG signature of message for namespace "git".
func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, fmt.Errorf("read message to sign: %w", err)
	}
	signed := sshsigSignedData(sshsigNamespace, sshsigHash, h.Sum(nil))
	var sig *ssh.Signature
	var err error
	if s.algo != "" {
		sig, err = s.signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, signed, s.algo)
	} else {
		sig, err = s.signer.Sign(rand.Reader, signed)
	}
	if err != nil {
		return nil, fmt.Errorf("SSH signature with key %s: %w", s.info.Fingerprint, err)
	}
	return armorSSHSig(sshsigBlob(s.signer.PublicKey(), sshsigNamespace, sshsigHash, sig)), nil
}

func (s *sshSigner) signerInfo() SignerInfo { return s.info }

// sshsigSignedData is what an SSHSIG signature signs: the magic preamble,
// then namespace, reserved, hash algorithm and the message's hash as
// strings.
func sshsigSignedData(namespace, hashAlg string, hash []byte) []byte {
	b := []byte(sshsigMagic)
	b = appendSSHString(b, []byte(namespace))
	b = appendSSHString(b, nil) // reserved
	b = appendSSHString(b, []byte(hashAlg))
	return appendSSHString(b, hash)
}

// sshsigBlob is the signature's binary form: the magic preamble, the
// version, then public key, namespace, reserved, hash algorithm and the
// signature as strings.
func sshsigBlob(pub ssh.PublicKey, namespace, hashAlg string, sig *ssh.Signature) []byte {
	b := []byte(sshsigMagic)
	b = binary.BigEndian.AppendUint32(b, sshsigVersion)
	b = appendSSHString(b, pub.Marshal())
	b = appendSSHString(b, []byte(namespace))
	b = appendSSHString(b, nil) // reserved
	b = appendSSHString(b, []byte(hashAlg))
	return appendSSHString(b, ssh.Marshal(sig))
}

// appendSSHString appends s as an SSH string (RFC 4251 section 5): a
// big-endian uint32 length, then the bytes.
func appendSSHString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// armorSSHSig armors blob as ssh-keygen does: base64 in lines of 70
// characters between BEGIN and END lines, each line ending in a newline.
func armorSSHSig(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString(sshsigBegin + "\n")
	for len(enc) > sshsigLineLen {
		b.WriteString(enc[:sshsigLineLen] + "\n")
		enc = enc[sshsigLineLen:]
	}
	b.WriteString(enc + "\n")
	b.WriteString(sshsigEnd + "\n")
	return []byte(b.String())
}
