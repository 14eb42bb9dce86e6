package config

import (
	"strings"
	"testing"
)

func TestHooksConfig(t *testing.T) {
	base := "apiVersion: bgrender.io/v1alpha1\nkind: App\napp: myapp\nimage: ghcr.io/acme/myapp\n"
	good := base + `hooks:
- {name: migrate, when: afterDeploy, command: [npm, run, migrate], resources: {requests: {cpu: 100m, memory: 128Mi}}}
- {name: ping, when: afterDeploy, command: [npm, run, ping], backoffLimit: 2, activeDeadlineSeconds: 120, image: ghcr.io/acme/tools:1.2}
`
	c, err := Parse("b.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := c.HookNamed("migrate"); !ok || h.Deadline() != DefaultHookDeadline || h.Retries() != 0 {
		t.Fatalf("migrate defaults: %+v", h)
	}
	if h, _ := c.HookNamed("ping"); h.Deadline() != 120 || h.Retries() != 2 {
		t.Fatalf("ping: %+v", h)
	}
	if b, a := c.HooksWhen(HookBeforeDeploy), c.HooksWhen(HookAfterDeploy); len(b) != 0 || len(a) != 2 || a[0].Name != "migrate" || a[1].Name != "ping" {
		t.Fatalf("HooksWhen: %+v %+v", b, a)
	}
	out, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Parse("again.yaml", out); err != nil || len(again.Hooks) != 2 || again.Hooks[1].Image != "ghcr.io/acme/tools:1.2" {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	for name, tc := range map[string]struct{ hooks, want string }{
		"bad name":     {"- {name: Migrate, when: afterDeploy, command: [x]}", `hooks[0].name "Migrate"`},
		"twice":        {"- {name: m, when: afterDeploy, command: [x]}\n- {name: m, when: afterDeploy, command: [x]}", `hooks[1].name "m": two hooks`},
		"long":         {"- {name: " + strings.Repeat("a", 47) + ", when: afterDeploy, command: [x]}", "longer than Kubernetes allows"},
		"bad when":     {"- {name: m, when: afterPromote, command: [x]}", `hooks[0].when "afterPromote"`},
		"no command":   {"- {name: m, when: afterDeploy}", "hooks[0].command"},
		"untagged":     {"- {name: m, when: afterDeploy, command: [x], image: ghcr.io/acme/tools}", `hooks[0].image "ghcr.io/acme/tools"`},
		"backoff":      {"- {name: m, when: afterDeploy, command: [x], backoffLimit: 50}", "hooks[0].backoffLimit 50"},
		"deadline":     {"- {name: m, when: afterDeploy, command: [x], activeDeadlineSeconds: -1}", "hooks[0].activeDeadlineSeconds -1"},
		"resource":     {"- {name: m, when: afterDeploy, command: [x], resources: {requests: {gpu: 1}}}", "hooks[0].resources.requests.gpu"},
		"quantity":     {"- {name: m, when: afterDeploy, command: [x], resources: {limits: {memory: lots}}}", `hooks[0].resources.limits.memory "lots"`},
		"resource key": {"- {name: m, when: afterDeploy, command: [x], resources: {wants: {cpu: 1}}}", "hooks[0].resources.wants"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(base+"hooks:\n"+tc.hooks+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
