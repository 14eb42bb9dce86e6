package forge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessage bounds the forge message quoted in an error, in runes.
const maxMessage = 500

// forgeMessage extracts a human-readable message from a forge's error body.
// The three forges answer with JSON objects of these shapes:
//
//	GitHub: {"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "..."}]}
//	GitLab: {"message": "401 Unauthorized"}, {"message": ["..."]}, {"message": {"title": ["is too long"]}}, {"error": "..."}
//	Gitea:  {"message": "...", "url": "..."}, {"errors": ["..."], "message": "..."}
//
// Anything else (a proxy's HTML page, plain text) is quoted as text. The
// result is one line of printable text, at most maxMessage runes.
func forgeMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) == nil && obj != nil {
		var parts []string
		for _, key := range []string{"message", "error", "error_description", "errors"} {
			if raw, ok := obj[key]; ok {
				if s := flatten(raw, 0); s != "" && !slices.Contains(parts, s) {
					parts = append(parts, s)
				}
			}
		}
		return clean(strings.Join(parts, "; "))
	}
	if body[0] == '<' {
		return "(an HTML page, not the API's JSON)"
	}
	return clean(string(body))
}

// flatten renders a JSON value of an error body as text: strings as they
// are, arrays joined with "; ", objects as "key: value" in key order (GitHub's
// error objects as their message, or "field code").
func flatten(raw json.RawMessage, depth int) string {
	if depth > 4 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		var parts []string
		for _, item := range list {
			if p := flatten(item, depth+1); p != "" {
				parts = append(parts, p)
			}
		}
		return strings.Join(parts, "; ")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) == nil && obj != nil {
		if m, ok := obj["message"]; ok {
			if p := flatten(m, depth+1); p != "" {
				return p
			}
		}
		if _, ok := obj["code"]; ok { // GitHub: {"resource": "PullRequest", "field": "head", "code": "invalid"}
			return strings.TrimSpace(flatten(obj["field"], depth+1) + " " + flatten(obj["code"], depth+1))
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var parts []string
		for _, k := range keys {
			if p := flatten(obj[k], depth+1); p != "" {
				parts = append(parts, k+": "+p)
			}
		}
		return strings.Join(parts, "; ")
	}
	var other any
	if json.Unmarshal(raw, &other) == nil && other != nil {
		return fmt.Sprint(other)
	}
	return ""
}

// clean makes s one line of printable text of at most maxMessage runes.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		need := 1
		if space {
			need = 2
		}
		if n+need > maxMessage {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return ""
	}
	return out
}
