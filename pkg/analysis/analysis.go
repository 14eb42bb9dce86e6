// Package analysis judges a release by its metrics: it queries Prometheus's
// HTTP API (GET /api/v1/query) with each metric's query, a Go text/template
// over the release's names, and compares the one sample it must get with
// the metric's bounds. It never writes anything anywhere.
package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/bgrender/bgrender/internal/ctxsleep"
	"github.com/bgrender/bgrender/internal/httptransport"
	"github.com/bgrender/bgrender/pkg/config"
)

// Results of a measurement.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
)

// Measurement is one metric measured once.
type Measurement struct {
	Metric string `json:"metric"`
	// Query is the query as sent.
	Query string `json:"query"`
	// Value is the sample's value; nil when the result was empty or NaN.
	Value  *float64 `json:"value"`
	Result string   `json:"result"`
	// Why says, for anything but a pass, what decided it.
	Why string    `json:"why,omitempty"`
	At  time.Time `json:"at"`
}

// Report is a whole analysis: every measurement, in order, and the verdict.
type Report struct {
	Result       string        `json:"result"`
	Measurements []Measurement `json:"measurements"`
}

// Client queries one Prometheus.
type Client struct {
	// Address is the base URL.
	Address string
	// Headers are sent with every query (credentials: never printed).
	Headers http.Header
	// HTTPClient is the client to use; nil means one of its own.
	HTTPClient *http.Client
}

// maxResponse bounds a query's answer.
const maxResponse = 4 << 20

// Query runs an instant query and returns its single value: the one sample
// of a vector, or a scalar. empty is true for an empty vector or NaN.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (value float64, empty bool, err error) {
	u, err := url.Parse(strings.TrimRight(c.Address, "/") + "/api/v1/query")
	if err != nil {
		return 0, false, fmt.Errorf("prometheus address: %w", err)
	}
	q := url.Values{"query": {query}}
	if !at.IsZero() {
		q.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, false, err
	}
	for k, vs := range c.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	hc := httptransport.Client(30 * time.Second)
	if c.HTTPClient != nil {
		hc = c.HTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("query prometheus: %w", c.redact(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, false, fmt.Errorf("read prometheus's answer: %w", err)
	}
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return 0, false, fmt.Errorf("prometheus answered %d, a redirect, which bgrender does not follow (the query's headers would go on with it): give analysis.prometheus.address as the server's own URL", resp.StatusCode)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, false, fmt.Errorf("prometheus answered %d with no API response: %s", resp.StatusCode, short(body))
	}
	if r.Status != "success" {
		return 0, false, fmt.Errorf("prometheus: %s: %s", r.ErrorType, r.Error)
	}
	var raw []any
	switch r.Data.ResultType {
	case "scalar":
		if err := json.Unmarshal(r.Data.Result, &raw); err != nil {
			return 0, false, fmt.Errorf("prometheus scalar: %w", err)
		}
	case "vector":
		var samples []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &samples); err != nil {
			return 0, false, fmt.Errorf("prometheus vector: %w", err)
		}
		switch len(samples) {
		case 0:
			return 0, true, nil
		case 1:
			raw = samples[0].Value
		default:
			return 0, false, fmt.Errorf("the query gives %d samples, want one: aggregate it (sum, max, ...)", len(samples))
		}
	default:
		return 0, false, fmt.Errorf("the query gives a %s, want one sample or a scalar", r.Data.ResultType)
	}
	if len(raw) != 2 {
		return 0, false, errors.New("prometheus: a sample without [time, value]")
	}
	s, _ := raw[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("prometheus: value %q: %w", s, err)
	}
	if math.IsNaN(v) {
		return 0, true, nil
	}
	return v, false, nil
}

// redact keeps header values (credentials) out of an error.
func (c *Client) redact(err error) error {
	msg := err.Error()
	for _, vs := range c.Headers {
		for _, v := range vs {
			if v != "" {
				msg = strings.ReplaceAll(msg, v, "[redacted]")
			}
		}
	}
	return errors.New(msg)
}

func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Render fills a query template with vars.
func Render(query string, vars config.AnalysisVars) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(query)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, vars); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Analyzer runs an analysis.
type Analyzer struct {
	Client *Client
	// Now and Sleep are the clock (nil: the real one).
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
	// OnMeasure sees each measurement as it is made (nil: none).
	OnMeasure func(Measurement)
}

// Run measures spec's metrics spec.Count times, spec.Interval apart,
// after spec.InitialDelay. A measurement fails when a value is outside its
// bounds (or empty, for onEmpty: fail); it is inconclusive when a value is
// empty with onEmpty: inconclusive, or the window's requests are fewer
// than minRequests. The analysis fails once more than failureLimit
// measurements failed, stops as inconclusive at the first inconclusive
// one, and passes otherwise. An error querying Prometheus is an error,
// not a verdict.
func (a *Analyzer) Run(ctx context.Context, spec config.Analysis, vars config.AnalysisVars) (Report, error) {
	spec = spec.WithDefaults()
	if vars.Window == "" {
		vars.Window = promDuration(spec.Window.Duration)
	}
	rep := Report{Measurements: []Measurement{}}
	if err := a.sleep(ctx, spec.InitialDelay.Duration); err != nil {
		return rep, err
	}
	failures := 0
	for i := 0; i < spec.Count; i++ {
		if i > 0 {
			if err := a.sleep(ctx, spec.Interval.Duration); err != nil {
				return rep, err
			}
		}
		results, err := a.measure(ctx, spec, vars)
		rep.Measurements = append(rep.Measurements, results...)
		if err != nil {
			return rep, err
		}
		round := Pass
		for _, m := range results {
			if m.Result == Inconclusive {
				round = Inconclusive
				break
			}
			if m.Result == Fail {
				round = Fail
			}
		}
		switch round {
		case Inconclusive:
			rep.Result = Inconclusive
			return rep, nil
		case Fail:
			failures++
			if failures > spec.FailureLimit {
				rep.Result = Fail
				return rep, nil
			}
		}
	}
	rep.Result = Pass
	return rep, nil
}

// measure takes one measurement of every metric (the request count first).
func (a *Analyzer) measure(ctx context.Context, spec config.Analysis, vars config.AnalysisVars) ([]Measurement, error) {
	now := a.now()
	var out []Measurement
	record := func(m Measurement) {
		out = append(out, m)
		if a.OnMeasure != nil {
			a.OnMeasure(m)
		}
	}
	if spec.Requests != "" && spec.MinRequests > 0 {
		q, err := Render(spec.Requests, vars)
		if err != nil {
			return out, fmt.Errorf("analysis.requests: %w", err)
		}
		v, empty, err := a.Client.Query(ctx, q, now)
		if err != nil {
			return out, fmt.Errorf("analysis.requests: %w", err)
		}
		m := Measurement{Metric: "requests", Query: q, At: now, Result: Pass}
		if !empty {
			m.Value = &v
		}
		if empty || v < float64(spec.MinRequests) {
			m.Result = Inconclusive
			m.Why = fmt.Sprintf("%s requests in the window, fewer than minRequests %d: too little traffic to judge", formatValue(m.Value), spec.MinRequests)
			record(m)
			return out, nil
		}
		record(m)
	}
	for _, metric := range spec.Metrics {
		q, err := Render(metric.Query, vars)
		if err != nil {
			return out, fmt.Errorf("analysis metric %s: %w", metric.Name, err)
		}
		v, empty, err := a.Client.Query(ctx, q, now)
		if err != nil {
			return out, fmt.Errorf("analysis metric %s: %w", metric.Name, err)
		}
		m := Measurement{Metric: metric.Name, Query: q, At: now, Result: Pass}
		switch {
		case empty:
			m.Result = Fail
			if metric.OnEmpty == config.OnEmptyInconclusive {
				m.Result = Inconclusive
			}
			m.Why = "the query gave no value (an empty result or NaN)"
		case metric.Min != nil && v < *metric.Min:
			m.Value, m.Result, m.Why = &v, Fail, fmt.Sprintf("%g is below min %g", v, *metric.Min)
		case metric.Max != nil && v > *metric.Max:
			m.Value, m.Result, m.Why = &v, Fail, fmt.Sprintf("%g is above max %g", v, *metric.Max)
		default:
			m.Value = &v
		}
		record(m)
	}
	return out, nil
}

func (a *Analyzer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Analyzer) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if a.Sleep != nil {
		return a.Sleep(ctx, d)
	}
	return ctxsleep.Sleep(ctx, d)
}

// promDuration writes d as a PromQL duration: 30s, 5m, 1h.
func promDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	default:
		return fmt.Sprintf("%ds", (d+time.Second-1)/time.Second)
	}
}

func formatValue(v *float64) string {
	if v == nil {
		return "no"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

// String is the measurement for a person: "fail error-ratio: 0.25 (0.25 is
// above max 0.05)".
func (m Measurement) String() string {
	s := fmt.Sprintf("%s %s: %s", m.Result, m.Metric, formatValue(m.Value))
	if m.Value == nil {
		s = fmt.Sprintf("%s %s: no value", m.Result, m.Metric)
	}
	if m.Why != "" {
		s += " (" + m.Why + ")"
	}
	return s
}
