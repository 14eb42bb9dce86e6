// Package smoke runs the smoke checks of `bgrender verify`: HTTP requests
// sent through the Istio ingress gateway, along the test route (the cookie or
// header of config testRoute) or, after promotion, the default route, to the
// release that is about to take (or has taken) traffic.
//
// Spec is the `verify:` section of bgrender.yaml (Validate names fields as
// they appear there, e.g. verify.checks[1].expect.status; Duration reads
// "5s"). It says how a response proves which release answered (Identity: a
// response header or JSON field carrying the version or release id) and which
// checks to run (method, path, headers, body; expected status, body text,
// regex or JSON fields; per-attempt timeout and retries), all within a total
// Timeout.
//
// # Where to start
//
// Runner.Run takes a Spec and a Target (gateway URL, Host header, Selector,
// and the state.Release that must answer). It first proves identity, so that
// a misrouted test route, which would make the checks test the release that
// is already live, fails with *WrongReleaseError instead of passing; then it
// runs each check with retries and exponential backoff. It returns a Report
// always, and an error when anything failed: *WrongReleaseError,
// *CheckFailedError, ErrTimeout (wrapped) or ErrNotConfigured.
//
// Nothing here prints: progress goes to Runner.Progress as Events. The clock
// and the sleep between retries are Runner fields, so tests run without
// waiting. Package smoketest has an app and a gateway stand-in for tests.
package smoke
