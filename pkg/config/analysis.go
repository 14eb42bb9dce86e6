package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"text/template"
	"time"
)

// Analysis is the metric analysis of a release against Prometheus.
type Analysis struct {
	// Prometheus is where the metrics are queried.
	Prometheus Prometheus `yaml:"prometheus"`
	// Metrics are judged at each measurement.
	Metrics []Metric `yaml:"metrics"`
	// Requests, when set, counts the requests of the window: below
	// MinRequests the window is inconclusive (the test color sees test
	// traffic alone), not passing.
	Requests    string `yaml:"requests,omitempty"`
	MinRequests int    `yaml:"minRequests,omitempty"`
	// Interval between measurements (default 30s), Count of them (default
	// 1), FailureLimit failed measurements tolerated (default 0), and
	// InitialDelay before the first (default none). Window is the range
	// the queries use as {{.Window}} (default: the interval).
	Interval     Duration `yaml:"interval,omitempty"`
	Count        int      `yaml:"count,omitempty"`
	FailureLimit int      `yaml:"failureLimit,omitempty"`
	InitialDelay Duration `yaml:"initialDelay,omitempty"`
	Window       Duration `yaml:"window,omitempty"`
	// AfterSwitch, when set, makes release judge the live release again
	// after the switch, Count times Interval apart (the same metrics, with
	// the color now taking all traffic); a failure rolls back.
	AfterSwitch *AfterSwitch `yaml:"afterSwitch,omitempty"`
}

// AfterSwitch is the window of the analysis after the switch.
type AfterSwitch struct {
	Interval Duration `yaml:"interval,omitempty"`
	Count    int      `yaml:"count"`
}

// Prometheus says how to reach Prometheus. Credentials come from the
// environment, never from this file.
type Prometheus struct {
	// Address is the base URL, e.g. http://prometheus.monitoring:9090.
	Address string `yaml:"address"`
	// Headers are sent with every query, each value read from an
	// environment variable (e.g. Authorization from $PROM_AUTH).
	Headers []HeaderFromEnv `yaml:"headers,omitempty"`
}

// HeaderFromEnv is a header whose value is an environment variable's.
type HeaderFromEnv struct {
	Name string `yaml:"name"`
	Env  string `yaml:"env"`
}

// Metric is one query and its bounds.
type Metric struct {
	Name string `yaml:"name"`
	// Query is a PromQL query, a Go text/template over .App, .Namespace,
	// .Color, .Release, .Version and .Window; it must give one sample or a
	// scalar.
	Query string   `yaml:"query"`
	Min   *float64 `yaml:"min,omitempty"`
	Max   *float64 `yaml:"max,omitempty"`
	// OnEmpty says what an empty or NaN result means: fail (the default)
	// or inconclusive (stop and let a person decide).
	OnEmpty string `yaml:"onEmpty,omitempty"`
}

// What an empty result means.
const (
	OnEmptyFail         = "fail"
	OnEmptyInconclusive = "inconclusive"
)

// AnalysisVars are the names a query template may use.
type AnalysisVars struct {
	App, Namespace, Color, Release, Version, Window string
}

var metricName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`)

// WithDefaults fills in what the user left out.
func (a Analysis) WithDefaults() Analysis {
	if a.Interval.Duration == 0 {
		a.Interval.Duration = 30 * time.Second
	}
	if a.Count == 0 {
		a.Count = 1
	}
	if a.Window.Duration == 0 {
		a.Window = a.Interval
	}
	for i := range a.Metrics {
		if a.Metrics[i].OnEmpty == "" {
			a.Metrics[i].OnEmpty = OnEmptyFail
		}
	}
	return a
}

// Validate checks the analysis section, naming fields as in bgrender.yaml.
func (a Analysis) Validate() error {
	u, err := url.Parse(a.Prometheus.Address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errors.New("analysis.prometheus.address: must be an http(s) URL without credentials, e.g. http://prometheus.monitoring:9090 (credentials go in headers, from the environment)")
	}
	for i, h := range a.Prometheus.Headers {
		if !token.MatchString(h.Name) {
			return fmt.Errorf("analysis.prometheus.headers[%d].name %q: must be an HTTP header name", i, h.Name)
		}
		if !envName.MatchString(h.Env) {
			return fmt.Errorf("analysis.prometheus.headers[%d].env %q: must name an environment variable", i, h.Env)
		}
	}
	if len(a.Metrics) == 0 {
		return errors.New("analysis.metrics: at least one metric to judge")
	}
	seen := map[string]bool{}
	for i, m := range a.Metrics {
		field := fmt.Sprintf("analysis.metrics[%d]", i)
		if !metricName.MatchString(m.Name) || seen[m.Name] {
			return fmt.Errorf("%s.name %q: must be a unique lowercase name, e.g. error-rate", field, m.Name)
		}
		seen[m.Name] = true
		if err := checkQueryTemplate(m.Query); err != nil {
			return fmt.Errorf("%s.query: %w", field, err)
		}
		if m.Min == nil && m.Max == nil {
			return fmt.Errorf("%s: set min, max or both", field)
		}
		if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
			return fmt.Errorf("%s: min %v is above max %v", field, *m.Min, *m.Max)
		}
		switch m.OnEmpty {
		case "", OnEmptyFail, OnEmptyInconclusive:
		default:
			return fmt.Errorf("%s.onEmpty %q: must be fail or inconclusive", field, m.OnEmpty)
		}
	}
	if a.Requests != "" {
		if err := checkQueryTemplate(a.Requests); err != nil {
			return fmt.Errorf("analysis.requests: %w", err)
		}
	}
	if a.MinRequests < 0 || (a.MinRequests > 0 && a.Requests == "") {
		return errors.New("analysis.minRequests: needs analysis.requests, the query that counts the window's requests")
	}
	for name, d := range map[string]Duration{"analysis.interval": a.Interval, "analysis.initialDelay": a.InitialDelay, "analysis.window": a.Window} {
		if d.Duration < 0 {
			return fmt.Errorf("%s %s: must not be negative", name, d)
		}
	}
	if a.Count < 0 || a.Count > 1000 {
		return fmt.Errorf("analysis.count %d: must be between 1 and 1000", a.Count)
	}
	if a.FailureLimit < 0 {
		return fmt.Errorf("analysis.failureLimit %d: must not be negative", a.FailureLimit)
	}
	if as := a.AfterSwitch; as != nil {
		if as.Count < 1 || as.Count > 1000 {
			return fmt.Errorf("analysis.afterSwitch.count %d: must be between 1 and 1000", as.Count)
		}
		if as.Interval.Duration < 0 {
			return fmt.Errorf("analysis.afterSwitch.interval %s: must not be negative", as.Interval)
		}
	}
	return nil
}

// Live is the analysis release runs after the switch: the same metrics
// over the afterSwitch window; ok is false when there is none.
func (a Analysis) Live() (Analysis, bool) {
	if a.AfterSwitch == nil {
		return a, false
	}
	live := a
	live.Count, live.InitialDelay = a.AfterSwitch.Count, Duration{}
	if a.AfterSwitch.Interval.Duration > 0 {
		live.Interval = a.AfterSwitch.Interval
	}
	return live, true
}

// checkQueryTemplate parses a query template and executes it with every
// variable set: a name it does not know is an error.
func checkQueryTemplate(q string) error {
	if q == "" {
		return errors.New("empty")
	}
	t, err := template.New("query").Option("missingkey=error").Parse(q)
	if err != nil {
		return err
	}
	var sink discard
	if err := t.Execute(&sink, AnalysisVars{App: "a", Namespace: "n", Color: "blue", Release: "r", Version: "v", Window: "1m"}); err != nil {
		return fmt.Errorf("%w (the names are .App, .Namespace, .Color, .Release, .Version and .Window)", err)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
