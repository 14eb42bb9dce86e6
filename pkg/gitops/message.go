package gitops

import (
	"regexp"
	"strings"
)

// Trailer is one "Key: Value" line in the final paragraph of a commit
// message, as git interpret-trailers reads them.
type Trailer struct{ Key, Value string }

var (
	trailerLineRE = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*?)[ \t]*$`)
	badKeyRunRE   = regexp.MustCompile(`[^A-Za-z0-9-]+`)
)

// FormatMessage builds a commit message: the subject, a blank line, the body
// (if any), a blank line and one "Key: Value" line per trailer. Newlines in
// the subject and in trailer values become spaces; trailer keys are reduced
// to letters, digits and '-'; trailers with an empty key are dropped. The
// message ends with a newline.
func FormatMessage(subject, body string, trailers []Trailer) string {
	var b strings.Builder
	b.WriteString(oneLine(subject))
	b.WriteString("\n")
	if body = strings.TrimRight(strings.ReplaceAll(body, "\r\n", "\n"), " \t\r\n"); strings.TrimSpace(body) != "" {
		b.WriteString("\n")
		b.WriteString(strings.TrimLeft(body, "\r\n"))
		b.WriteString("\n")
	}
	first := true
	for _, t := range trailers {
		k := sanitiseKey(t.Key)
		if k == "" {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		b.WriteString(k)
		b.WriteString(":")
		if v := oneLine(t.Value); v != "" {
			b.WriteString(" ")
			b.WriteString(v)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// oneLine joins the lines of s with single spaces and trims it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}

func sanitiseKey(k string) string {
	return strings.Trim(badKeyRunRE.ReplaceAllString(strings.TrimSpace(k), "-"), "-")
}

// ParseTrailers returns the "Key: Value" lines of the message's final
// paragraph, in order. The subject paragraph never holds trailers, and a
// final paragraph with any line that is not a trailer holds none.
func ParseTrailers(message string) []Trailer {
	msg := strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), " \t\n")
	paras := splitParagraphs(msg)
	if len(paras) < 2 {
		return nil
	}
	last := paras[len(paras)-1]
	var out []Trailer
	for _, line := range last {
		m := trailerLineRE.FindStringSubmatch(line)
		if m == nil {
			return nil
		}
		out = append(out, Trailer{Key: m[1], Value: m[2]})
	}
	return out
}

// splitParagraphs splits text into runs of non-blank lines.
func splitParagraphs(s string) [][]string {
	var paras [][]string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			if cur != nil {
				paras = append(paras, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if cur != nil {
		paras = append(paras, cur)
	}
	return paras
}
