// Package promtest runs a real Prometheus (Debian's prometheus package, or
// the binary $BGRENDER_PROMETHEUS names) on loopback for tests: it scrapes
// the given targets every second and is stopped when the test ends,
// whatever the outcome.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bgrender/bgrender/internal/childproc"
)

// Prometheus is a running Prometheus.
type Prometheus struct {
	// URL is its base URL, e.g. http://127.0.0.1:40123.
	URL string
}

// Binary finds the prometheus binary.
func Binary() (string, error) {
	if b := os.Getenv("BGRENDER_PROMETHEUS"); b != "" {
		return b, nil
	}
	b, err := exec.LookPath("prometheus")
	if err != nil {
		return "", fmt.Errorf("no prometheus binary: install Debian's prometheus package (apt-get install prometheus) or set $BGRENDER_PROMETHEUS: %w", err)
	}
	return b, nil
}

// Start starts Prometheus scraping targets (host:port, path /metrics) every
// second, and waits until every target has been scraped once.
func Start(t testing.TB, targets ...string) *Prometheus {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, tg := range targets {
		quoted[i] = fmt.Sprintf("%q", tg)
	}
	cfg := "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n- job_name: apps\n  static_configs:\n  - targets: [" + strings.Join(quoted, ", ") + "]\n"
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p, err := childproc.Start("prometheus", bin, []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--storage.tsdb.retention.time=1h",
	}, nil, filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.LogTail(4000))
		}
	})
	prom := &Prometheus{URL: "http://" + addr}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if up, err := prom.scraped(ctx, len(targets)); err == nil && up {
			return prom
		}
		select {
		case <-ctx.Done():
			t.Fatalf("prometheus did not scrape its %d targets within 60s:\n%s", len(targets), p.LogTail(2000))
		case <-p.Done():
			t.Fatalf("prometheus exited: %v\n%s", p.Err(), p.LogTail(2000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scraped reports whether n targets are up.
func (p *Prometheus) scraped(ctx context.Context, n int) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query=sum(up)", nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Data.Result) != 1 {
		return false, err
	}
	return r.Data.Result[0].Value[1] == fmt.Sprint(n), nil
}
