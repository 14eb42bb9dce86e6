package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// unknownField is yaml.v3's message for a field a strict decode does not
// know: "line 3: field imgae not found in type config.Config".
var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type (\S+)`)

// explainUnknownFields rewrites yaml.v3's unknown-field errors in err's
// message to name the field and suggest the nearest known one of the same
// section. It returns err unchanged when there are none.
func explainUnknownFields(err error) error {
	msg := err.Error()
	if !unknownField.MatchString(msg) {
		return err
	}
	fields := yamlFields(reflect.TypeOf(Config{}))
	var lines []string
	for _, m := range unknownField.FindAllStringSubmatch(msg, -1) {
		line := fmt.Sprintf("line %s: unknown field %q", m[1], m[2])
		if s := nearest(m[2], fields[m[3]]); s != "" {
			line += fmt.Sprintf(" (did you mean %q?)", s)
		} else if known := fields[m[3]]; len(known) > 0 {
			line += " (known here: " + strings.Join(known, ", ") + ")"
		}
		lines = append(lines, line)
	}
	return fmt.Errorf("%s", strings.Join(lines, "; "))
}

// yamlFields lists, for every struct type reachable from t by its type name
// as yaml.v3 prints it ("config.Wait"), the YAML names of its fields.
func yamlFields(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		if _, done := out[t.String()]; done {
			return
		}
		out[t.String()] = nil
		var names []string
		var add func(t reflect.Type)
		add = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				tag := f.Tag.Get("yaml")
				name, opts, _ := strings.Cut(tag, ",")
				if name == "-" {
					continue
				}
				if strings.Contains(opts, "inline") {
					add(f.Type)
					continue
				}
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				names = append(names, name)
				walk(f.Type)
			}
		}
		add(t)
		sort.Strings(names)
		out[t.String()] = names
	}
	walk(t)
	return out
}

// nearest returns the known name closest to s in edit distance, when it is
// close enough to be a typo.
func nearest(s string, known []string) string {
	if len(s) > 64 {
		return "" // no typo of a field name is that long
	}
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := distance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(1, len(s)/3) {
		return best
	}
	return ""
}

// distance is the edit distance between a and b, counting a swap of two
// neighbouring letters as one edit (optimal string alignment).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
