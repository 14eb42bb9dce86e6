// Package wait waits until a GitOps controller (Argo CD or Flux) has applied
// an exact commit of the env repo and the app is healthy.
//
// A Source reads one controller's status (Argo CD's REST API, an Argo CD
// Application or a Flux Kustomization through the Kubernetes API) and
// evaluates it against the commit; Wait polls a Source, asking for a refresh
// first, reports progress, and stops on success, on a controller failure
// (*FailedError, quoting the controller) or at its timeout (ErrTimeout).
package wait
