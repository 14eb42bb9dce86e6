package kubetest

import (
	"context"
	"crypto/tls"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bgrender/bgrender/internal/childproc"
	"github.com/bgrender/bgrender/internal/httptransport"
)

// WithControllers also starts what runs below the API server in a real
// cluster, so that Deployments roll out, Jobs run and deletions complete by
// the Kubernetes controllers' own logic:
//   - kube-controller-manager, with the controllers it starts by default
//     (deployment, replicaset, job, garbage collector, HPA, namespace,
//     service account...);
//   - kube-scheduler;
//   - kwok, which plays the kubelets of fake nodes: it makes scheduled pods
//     Running and Ready through its stages, with no container runtime.
//
// One fake node, kwok-node-0, is made for kwok to manage; kwok gives it its
// capacity and keeps it Ready.
func WithControllers() Option {
	return func(o *options) { o.controllers = true }
}

// stages are kwok's: what the fake node's kubelet reports (stages.yaml).
//
//go:embed stages.yaml
var stages []byte

// fakeNodeAnnotation marks the nodes kwok manages.
const fakeNodeAnnotation = "kwok.x-k8s.io/node"

// startControllers starts kube-controller-manager, kube-scheduler and kwok
// against the running API server, and makes a fake node.
func (c *Cluster) startControllers(ctx context.Context, o options, p *pki) error {
	cm, err := kubeComponent(ctx, o.logf, "kube-controller-manager", "BGRENDER_KUBE_CONTROLLER_MANAGER")
	if err != nil {
		return err
	}
	sched, err := kubeComponent(ctx, o.logf, "kube-scheduler", "BGRENDER_KUBE_SCHEDULER")
	if err != nil {
		return err
	}
	kwok, err := kwokBinary(ctx, o.logf)
	if err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	caFile := filepath.Join(c.dir, "pki", "ca.crt")
	if err := os.WriteFile(caFile, p.CAPEM, 0o600); err != nil {
		return err
	}
	// Each serves its health on loopback with a certificate it makes itself.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback health checks of self-signed servers
	start := func(name, bin string, args []string, health string) error {
		proc, err := childproc.Start(name, bin, args, nil, filepath.Join(c.dir, name+".log"))
		if err != nil {
			return err
		}
		c.procs = append(c.procs, proc)
		return waitHTTP(ctx, proc, insecure, health, "", 60*time.Second)
	}
	if err := start("kube-controller-manager", cm, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + filepath.Join(c.dir, "kube-controller-manager-pki"),
		"--service-account-private-key-file=" + p.SAKey,
		"--root-ca-file=" + caFile,
		"--use-service-account-credentials=false",
		"--cluster-name=kubetest",
		"--v=1",
	}, "https://127.0.0.1:"+strconv.Itoa(ports[0])+"/healthz"); err != nil {
		return err
	}
	if err := start("kube-scheduler", sched, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[1]),
		"--cert-dir=" + filepath.Join(c.dir, "kube-scheduler-pki"),
		"--v=1",
	}, "https://127.0.0.1:"+strconv.Itoa(ports[1])+"/healthz"); err != nil {
		return err
	}
	stagesFile := filepath.Join(c.dir, "kwok-stages.yaml")
	if err := os.WriteFile(stagesFile, stages, 0o600); err != nil {
		return err
	}
	proc, err := childproc.Start("kwok", kwok, []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--config=" + stagesFile,
		"--node-lease-duration-seconds=40",
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + fakeNodeAnnotation + "=fake",
		"--cidr=10.1.0.0/16",
		"--node-ip=10.1.0.1",
		"--server-address=127.0.0.1:" + strconv.Itoa(ports[2]),
		"--v=1",
	}, nil, filepath.Join(c.dir, "kwok.log"))
	if err != nil {
		return err
	}
	c.procs = append(c.procs, proc)
	if err := waitHTTP(ctx, proc, &http.Client{Transport: httptransport.New()}, "http://127.0.0.1:"+strconv.Itoa(ports[2])+"/healthz", "", 60*time.Second); err != nil {
		return err
	}
	_, err = c.ApplyYAML(ctx, []byte(fmt.Sprintf(`apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    %s: fake
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    type: kwok
`, fakeNodeAnnotation)))
	return err
}
