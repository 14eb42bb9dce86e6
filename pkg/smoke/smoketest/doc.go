// Package smoketest has helpers for tests of smoke checks and of
// `bgrender verify`: a tiny real HTTP app per color (StartApp) that reports
// its version, release and color, and a Gateway (StartGateway) that routes
// requests to those apps by VirtualService-like rules, standing in for the
// Istio ingress gateway (Envoy), which cannot run in a unit test.
//
// The Gateway imitates only Envoy's choice of a route from the VirtualService
// http rules (host, then the first rule whose cookie regex, matched against
// the whole Cookie header, or exact header holds, then the default rule; 404
// when none matches, 503 when a color has no app) and proxies to the chosen
// app. See Gateway for what it does not do. Build cookie rules with
// render.CookieRegex so tests route exactly as the rendered VirtualService.
//
// Helpers take a testing.TB, fail the test on error and shut their servers
// down with t.Cleanup.
package smoketest
