package config

import (
	"strings"
	"testing"
)

func TestAnalysisConfig(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: myapp\nimage: ghcr.io/acme/myapp\nanalysis:\n  prometheus: {address: http://prometheus:9090, headers: [{name: Authorization, env: PROM_AUTH}]}\n"
	good := base + "  metrics: [{name: error-ratio, query: 'sum(x{color=\"{{.Color}}\"})', max: 0.05}]\n  interval: 1m\n  count: 5\n"
	c, err := Parse("b.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Analysis.WithDefaults()
	if a.Count != 5 || a.Window.Duration != a.Interval.Duration || a.Metrics[0].OnEmpty != OnEmptyFail {
		t.Fatalf("defaults: %+v", a)
	}
	if _, ok := a.Live(); ok {
		t.Errorf("Live() without afterSwitch")
	}
	withLive, err := Parse("b.yaml", []byte(good+"  afterSwitch: {count: 10, interval: 15s}\n  initialDelay: 2m\n"))
	if err != nil {
		t.Fatal(err)
	}
	if live, ok := withLive.Analysis.WithDefaults().Live(); !ok || live.Count != 10 || live.Interval.Seconds() != 15 || live.InitialDelay.Duration != 0 || len(live.Metrics) != 1 {
		t.Errorf("Live() = %+v, %v", live, ok)
	}
	for name, tc := range map[string]struct{ yaml, want string }{
		"no metrics":    {base + "  metrics: []\n", "analysis.metrics: at least one"},
		"unknown name":  {base + "  metrics: [{name: m, query: '{{.Pod}}', max: 1}]\n", "analysis.metrics[0].query"},
		"bad template":  {base + "  metrics: [{name: m, query: '{{.App', max: 1}]\n", "analysis.metrics[0].query"},
		"no bounds":     {base + "  metrics: [{name: m, query: up}]\n", "analysis.metrics[0]: set min, max or both"},
		"min over max":  {base + "  metrics: [{name: m, query: up, min: 2, max: 1}]\n", "min 2 is above max 1"},
		"onEmpty":       {base + "  metrics: [{name: m, query: up, max: 1, onEmpty: pass}]\n", `analysis.metrics[0].onEmpty "pass"`},
		"minRequests":   {base + "  metrics: [{name: m, query: up, max: 1}]\n  minRequests: 5\n", "analysis.minRequests: needs analysis.requests"},
		"credentials":   {strings.Replace(base, "http://prometheus:9090", "http://u:p@prometheus:9090", 1) + "  metrics: [{name: m, query: up, max: 1}]\n", "analysis.prometheus.address"},
		"header env":    {strings.Replace(base, "env: PROM_AUTH", "env: 'bad name'", 1) + "  metrics: [{name: m, query: up, max: 1}]\n", `analysis.prometheus.headers[0].env "bad name"`},
		"twice":         {base + "  metrics: [{name: m, query: up, max: 1}, {name: m, query: up, max: 2}]\n", `analysis.metrics[1].name "m"`},
		"afterSwitch":   {base + "  metrics: [{name: m, query: up, max: 1}]\n  afterSwitch: {count: 0}\n", "analysis.afterSwitch.count 0"},
		"negative wait": {base + "  metrics: [{name: m, query: up, max: 1}]\n  initialDelay: -1s\n", "analysis.initialDelay"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
