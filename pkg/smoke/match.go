package smoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// maxBody is how much of a response body is read and checked.
const maxBody = 1 << 20

// response is what one attempt got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// identitySource finds the identity a response carries.
type identitySource struct {
	header string // response header name, or
	field  string // dotted JSON field
}

func (s identitySource) String() string {
	if s.header != "" {
		return "header " + strings.ToLower(s.header)
	}
	return "JSON field " + s.field
}

// find returns the identity in resp. ok is false when resp carries none; why
// then says what was missing.
func (s identitySource) find(resp response) (got string, ok bool, why string) {
	if s.header != "" {
		vals := resp.header.Values(s.header)
		if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			return "", false, fmt.Sprintf("no %s header in the response", strings.ToLower(s.header))
		}
		return strings.TrimSpace(vals[0]), true, ""
	}
	v, err := lookupJSON(resp.body, s.field)
	if err != nil {
		return "", false, err.Error()
	}
	return v, true, ""
}

// errFieldMissing is wrapped by lookupJSON when the path does not exist.
var errFieldMissing = errors.New("missing")

// lookupJSON finds the dotted field path in a JSON document and returns its
// value as text: a string as is, a number as written, true, false or null.
func lookupJSON(body []byte, path string) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return "", fmt.Errorf("the body is not JSON (looking for field %s): %v", path, err)
	}
	cur := doc
	for i, seg := range strings.Split(path, ".") {
		at := strings.Join(strings.Split(path, ".")[:i], ".")
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return "", fmt.Errorf("JSON field %s is %w", path, errFieldMissing)
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(v) {
				return "", fmt.Errorf("JSON field %s is %w (%s has %d elements)", path, errFieldMissing, orRoot(at), len(v))
			}
			cur = v[n]
		default:
			return "", fmt.Errorf("JSON field %s is %w (%s is not an object)", path, errFieldMissing, orRoot(at))
		}
	}
	switch v := cur.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "null", nil
	case map[string]any:
		return "", fmt.Errorf("JSON field %s is an object, not a value", path)
	default:
		return "", fmt.Errorf("JSON field %s is an array, not a value", path)
	}
}

func orRoot(p string) string {
	if p == "" {
		return "the body"
	}
	return p
}

// expectation is a check's Expect, compiled.
type expectation struct {
	status   int
	contains string
	re       *regexp.Regexp
	json     []JSONExpect
}

func compileExpect(e Expect) (expectation, error) {
	x := expectation{status: e.Status, contains: e.BodyContains, json: e.JSON}
	if e.BodyRegex != "" {
		re, err := regexp.Compile(e.BodyRegex)
		if err != nil {
			return x, err
		}
		x.re = re
	}
	return x, nil
}

// check returns "" when resp satisfies x, else why not.
func (x expectation) check(resp response) string {
	if resp.status != x.status {
		return fmt.Sprintf("status %d, want %d%s", resp.status, x.status, bodyHint(resp.body))
	}
	if x.contains != "" && !bytes.Contains(resp.body, []byte(x.contains)) {
		return fmt.Sprintf("body does not contain %q%s", x.contains, bodyHint(resp.body))
	}
	if x.re != nil && !x.re.Match(resp.body) {
		return fmt.Sprintf("body does not match %q%s", x.re.String(), bodyHint(resp.body))
	}
	for _, je := range x.json {
		got, err := lookupJSON(resp.body, je.Field)
		if err != nil {
			return err.Error()
		}
		if got != je.Equals {
			return fmt.Sprintf("JSON field %s is %q, want %q", je.Field, got, je.Equals)
		}
	}
	return ""
}

// bodyHint quotes the start of a body for failure messages.
func bodyHint(body []byte) string {
	const max = 120
	if len(body) == 0 {
		return " (empty body)"
	}
	s := string(body)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf(" (body %q)", s)
}
