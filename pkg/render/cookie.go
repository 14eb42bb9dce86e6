package render

import "regexp"

// CookieRegex returns an RE2 regular expression that, matched against the
// whole Cookie header (Istio and Envoy match header regexes in full), matches
// when the cookie name=value is present anywhere in it.
//
// Browsers separate cookies with "; " and Envoy joins several Cookie headers
// with "; ", so the pair may be preceded by ";" and spaces or tabs, and
// followed by spaces or tabs and ";". It does not match another cookie whose
// name ends in name (xtest=true), a value that starts with value
// (test=trueish), or the pair inside another cookie's value (a=test=true).
//
// The regex that circulates for this, ^(.*?;)?(test=true)(;.*)?$, only matches
// when the cookie comes first or the browser omits the space after ";".
func CookieRegex(name, value string) string {
	return `^(.*;)?[ \t]*` + regexp.QuoteMeta(name) + `=` + regexp.QuoteMeta(value) + `[ \t]*(;.*)?$`
}
