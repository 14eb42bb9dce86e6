package forge

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FromRemote parses remotes from .git/config: whatever it gets, it must not
// panic, must not return a secret embedded in the URL, and what it calls ok
// must be accepted by New.
func FuzzFromRemote(f *testing.F) {
	for _, s := range []string{
		"https://github.com/acme/env.git", "git@github.com:acme/env.git", "ssh://git@gitlab.com/g/s/p.git",
		"https://u:p@gitea.example/a/b", "file:///x", "/local/path", "host:", ":", "a@:b/c", "ssh://[::1]:22/a/b",
	} {
		f.Add(s, "s3cr3tZ")
	}
	f.Fuzz(func(t *testing.T, remote, secret string) {
		kind, base, repo, ok := FromRemote(remote)
		if ok {
			if _, err := New(Config{Kind: kind, BaseURL: base, Repo: repo, Token: "t"}); err != nil {
				t.Fatalf("FromRemote(%q) = %q %q %q, but New refuses it: %v", remote, kind, base, repo, err)
			}
		} else if kind != "" || base != "" {
			t.Fatalf("FromRemote(%q) = %q %q, not ok", remote, kind, base)
		}
		// A password in an https URL never comes back.
		if secret == "" || strings.IndexFunc(secret, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 ||
			strings.Contains(remote, secret) {
			return
		}
		// (The secret may be part of a constant such as the API URL: a leak
		// is the secret appearing only because credentials were added.)
		withCreds := strings.Replace(remote, "://", "://user:"+secret+"@", 1)
		k2, b2, r2, _ := FromRemote(withCreds)
		if strings.Contains(string(k2)+b2+r2, secret) && !strings.Contains(string(kind)+base+repo, secret) {
			t.Fatalf("FromRemote(%q) leaks the password: %q %q %q", withCreds, k2, b2, r2)
		}
	})
}

// forgeMessage quotes error bodies from servers: one printable line of
// bounded length, whatever the body.
func FuzzForgeMessage(f *testing.F) {
	for _, s := range []string{
		`{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"x"}]}`,
		`{"message":{"title":["is too long"]}}`, `{"message":["a","b"]}`, `{"errors":[[[[[[["deep"]]]]]]]}`,
		"<html>", "plain\ntext", `{"message":null}`, `{"message":1e400}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m := forgeMessage(body)
		if !utf8.ValidString(m) {
			t.Fatalf("invalid UTF-8: %q", m)
		}
		if n := utf8.RuneCountInString(m); n > maxMessage+1 {
			t.Fatalf("%d runes", n)
		}
		for _, r := range m {
			if !unicode.IsPrint(r) && r != ' ' {
				t.Fatalf("unprintable %q in %q", r, m)
			}
		}
	})
}
