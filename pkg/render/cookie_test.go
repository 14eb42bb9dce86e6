package render

import (
	"regexp"
	"testing"
)

// fullMatch matches re against the whole of s, as Envoy's safe_regex does.
func fullMatch(t *testing.T, re, s string) bool {
	t.Helper()
	return regexp.MustCompile(`^(?:` + re + `)$`).MatchString(s)
}

func TestCookieRegex(t *testing.T) {
	const circulating = `^(.*?;)?(test=true)(;.*)?$`
	tests := []struct {
		name   string
		header string
		want   bool
		// circulating is what the widely copied regex says; it is only
		// checked where it differs from ours, to show why ours exists.
		circulating *bool
	}{
		{name: "alone", header: "test=true", want: true},
		{name: "first", header: "test=true; a=1", want: true},
		{name: "last after space", header: "a=1; test=true", want: true, circulating: ptr(false)},
		{name: "middle after space", header: "a=1; test=true; b=2", want: true, circulating: ptr(false)},
		{name: "last without space", header: "a=1;test=true", want: true},
		{name: "after tab", header: "a=1;\ttest=true", want: true, circulating: ptr(false)},
		{name: "two spaces", header: "a=1;  test=true", want: true},
		{name: "space before semicolon", header: "test=true ; a=1", want: true},
		{name: "joined headers", header: "a=1; b=2; test=true", want: true},
		{name: "trailing semicolon", header: "test=true;", want: true},
		{name: "absent", header: "a=1; b=2", want: false},
		{name: "empty", header: "", want: false},
		{name: "longer name", header: "xtest=true", want: false},
		{name: "longer name later", header: "a=1; xtest=true", want: false},
		{name: "longer value", header: "test=trueish", want: false},
		{name: "value with digit", header: "test=true2", want: false},
		{name: "other value", header: "test=false", want: false},
		{name: "inside another value", header: "a=test=true", want: false},
		{name: "inside another value later", header: "b=1; a=test=true", want: false},
		{name: "name only", header: "test", want: false},
		{name: "case differs", header: "Test=true", want: false},
	}
	re := CookieRegex("test", "true")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fullMatch(t, re, tc.header); got != tc.want {
				t.Errorf("CookieRegex matches %q = %v, want %v", tc.header, got, tc.want)
			}
			// Gateway API leaves regex semantics to the implementation:
			// some search the value instead of matching it whole. The
			// regex is anchored, so both read it the same.
			if got := regexp.MustCompile(re).MatchString(tc.header); got != tc.want {
				t.Errorf("CookieRegex searched in %q = %v, want %v", tc.header, got, tc.want)
			}
			if tc.circulating != nil {
				if got := fullMatch(t, circulating, tc.header); got != *tc.circulating {
					t.Errorf("circulating regex matches %q = %v; expected %v", tc.header, got, *tc.circulating)
				}
			}
		})
	}
}

func TestCookieRegexQuotesMeta(t *testing.T) {
	tests := []struct {
		name, cookie, value, header string
		want                        bool
	}{
		{"dot is literal", "a.b", "1", "axb=1", false},
		{"dot matches itself", "a.b", "1", "a.b=1", true},
		{"plus is literal", "c", "1+1", "c=11", false},
		{"plus matches itself", "c", "1+1", "x=y; c=1+1", true},
		{"colon value", "canary", "a:b", "canary=a:b", true},
		{"star is literal", "c", "a*", "c=aaa", false},
		{"parens", "c", "(x)", "c=(x)", true},
		{"dollar", "$c", "v", "$c=v", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re := CookieRegex(tc.cookie, tc.value)
			if got := fullMatch(t, re, tc.header); got != tc.want {
				t.Errorf("CookieRegex(%q, %q) = %s matches %q = %v, want %v", tc.cookie, tc.value, re, tc.header, got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
