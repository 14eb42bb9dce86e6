package render

import (
	"path"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

const devNull = "/dev/null"

// Diff returns a unified diff, git style, from old to new: for each file that
// differs, in sorted path order, "--- a/<prefix>/<path>" and
// "+++ b/<prefix>/<path>" ("/dev/null" for an added or removed file) followed
// by hunks with 3 lines of context. It returns "" when the sets are equal.
func Diff(prefix string, old, new Files) string {
	seen := map[string]bool{}
	var paths []string
	for _, fs := range []Files{old, new} {
		for p := range fs {
			if !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	sort.Strings(paths)
	var out strings.Builder
	for _, p := range paths {
		a, inOld := old[p]
		b, inNew := new[p]
		if inOld && inNew && string(a) == string(b) {
			continue
		}
		from, to := path.Join("a", prefix, p), path.Join("b", prefix, p)
		if !inOld {
			from = devNull
		}
		if !inNew {
			to = devNull
		}
		d := difflib.UnifiedDiff{A: lines(a), B: lines(b), FromFile: from, ToFile: to, Context: 3}
		text, err := difflib.GetUnifiedDiffString(d)
		if err != nil || text == "" {
			// difflib only fails on write errors, impossible on a string
			// builder; an empty text means an added or removed empty file.
			text = "--- " + from + "\n+++ " + to + "\n"
		}
		out.WriteString(text)
	}
	return out.String()
}

// lines splits s into lines that keep their "\n". A last line without one
// gets git's marker, so that adding the final newline shows as a change.
func lines(s []byte) []string {
	if len(s) == 0 {
		return nil
	}
	l := strings.SplitAfter(string(s), "\n")
	if l[len(l)-1] == "" {
		return l[:len(l)-1]
	}
	l[len(l)-1] += "\n\\ No newline at end of file\n"
	return l
}
