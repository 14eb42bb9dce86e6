package forge

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrUnauthorized: the forge refused the token (401) or the token lacks
	// a permission (403).
	ErrUnauthorized = errors.New("token refused")
	// ErrNotFound: the forge answered 404 (wrong repository or base URL, or
	// a repository the token cannot see).
	ErrNotFound = errors.New("not found")
	// ErrNoOpenPR: the forge refused to create a pull request because one
	// already exists, twice, but no open one for the branch could be found.
	ErrNoOpenPR = errors.New("the forge says a pull request for this branch exists, but no open one was found")
)

// ConfigError is an invalid Config field. Field names the flag or setting
// ("--forge", "--forge-url", "--forge-repo", "forge token").
type ConfigError struct {
	Field   string
	Problem string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Problem }

// APIError is an unsuccessful answer of a forge's API. It never holds the
// token: Message and Hint are redacted. 401 and 403 match ErrUnauthorized,
// 404 ErrNotFound.
type APIError struct {
	Forge  Kind
	Method string
	// Path is the request's escaped URL path, without host or query.
	Path   string
	Status int
	// Message is the forge's message from the response body, if any.
	Message string
	// Hint says what to do next, if there is something to say.
	Hint string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s answered %d %s", e.Forge, e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		fmt.Fprintf(&b, ": %q", e.Message)
	}
	if e.Hint != "" {
		b.WriteString(": " + e.Hint)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnauthorized) and errors.Is(err, ErrNotFound)
// work on an *APIError.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// redactedError carries an error whose text had the token replaced; the
// original stays reachable for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactor replaces a secret in text.
type redactor struct{ secrets []string }

const redacted = "[REDACTED]"

func newRedactor(token string) redactor {
	var r redactor
	for _, s := range []string{token, url.QueryEscape(token), url.PathEscape(token)} {
		if s != "" && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

func (r redactor) string(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

func (r redactor) err(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.string(err.Error()), err: err}
}
