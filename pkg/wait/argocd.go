package wait

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/bgrender/bgrender/internal/httptransport"
)

// DefaultArgoCDCooldown is how long an Argo CD app must have stayed Healthy
// after its last sync or health change before a wait is done, when no
// cooldown is given.
const DefaultArgoCDCooldown = 10 * time.Second

// maxArgoCDResponse bounds the Application JSON read (an app with many
// resources lists them all in its status).
const maxArgoCDResponse = 64 << 20

// Sentinel errors of the Argo CD API; test with errors.Is.
var (
	// ErrUnauthorized: the Argo CD server refused the token (401), or the
	// token may not read the app (403).
	ErrUnauthorized = errors.New("token refused")
	// ErrNotFound: the Argo CD server has no such application (404).
	ErrNotFound = errors.New("not found")
)

// APIError is an unsuccessful HTTP response of the Argo CD API. It never
// holds the token. 401 and 403 match ErrUnauthorized, 404 ErrNotFound; those
// and other 4xx answers (but 408 and 429) are permanent: Wait does not retry
// them.
type APIError struct {
	Source     string // "argocd app myapp"
	StatusCode int
	// Message is Argo CD's message from the response body, if any.
	Message string
}

func (e *APIError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	var s string
	switch e.StatusCode {
	case http.StatusUnauthorized:
		s = fmt.Sprintf("%s: the Argo CD server refused the token (%s)", e.Source, status)
	case http.StatusForbidden:
		s = fmt.Sprintf("%s: the Argo CD server refused the token or it may not read the app (%s; Argo CD also says so for an app that does not exist)", e.Source, status)
	case http.StatusNotFound:
		return fmt.Sprintf("%s not found (%s)", e.Source, status)
	default:
		s = fmt.Sprintf("%s: Argo CD API answered %s", e.Source, status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap makes 401 and 403 match ErrUnauthorized and 404 ErrNotFound.
func (e *APIError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return ErrNotFound
	}
	return nil
}

// Permanent reports whether asking again is pointless: a 4xx answer other
// than 408 (timeout) and 429 (too many requests).
func (e *APIError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 &&
		e.StatusCode != http.StatusRequestTimeout && e.StatusCode != http.StatusTooManyRequests
}

// ArgoCDREST reads an Argo CD Application through the Argo CD server's REST
// API (GET /api/v1/applications/{name}) with a bearer token.
type ArgoCDREST struct {
	// Server is the Argo CD server's base URL, e.g. https://argocd.example.com.
	Server string
	// Token is a bearer token. It is sent, never printed, never put in errors.
	Token string
	// App is the Application's name; AppNamespace, if set, its namespace
	// (apps in any namespace).
	App          string
	AppNamespace string
	// Path picks, for a multi-source app, the source whose path is the app's
	// directory in the env repo; empty means the first source. It is not
	// used for a single-source app.
	Path string
	// Cooldown is how long the app must stay Healthy after the later of its
	// last health change and the end of its last sync: zero means
	// DefaultArgoCDCooldown, negative none.
	Cooldown time.Duration
	// StuckDeletion is how long a resource may stay pending deletion (Argo
	// CD's health says so; its live object, read through the server, names
	// the finalizers) before the wait fails: zero means
	// DefaultStuckDeletion, negative never.
	StuckDeletion time.Duration
	// HTTPClient is the client to use (TLS options are the caller's: an
	// insecure client or one trusting a CA file); nil means one with a
	// transport of its own. Its redirect policy is replaced: a redirect is
	// never followed, so the token goes to Server and nowhere else.
	HTTPClient *http.Client
}

var _ Source = (*ArgoCDREST)(nil)

// Name is "argocd app <name>", or "argocd app <namespace>/<name>".
func (a *ArgoCDREST) Name() string {
	if a.AppNamespace != "" {
		return "argocd app " + a.AppNamespace + "/" + a.App
	}
	return "argocd app " + a.App
}

// Refresh asks Argo CD to compare the app with git now (a GET with
// ?refresh=normal; the server answers once the refresh is done).
func (a *ArgoCDREST) Refresh(ctx context.Context) error {
	body, err := a.get(ctx, "", url.Values{"refresh": {"normal"}})
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	body.Close()
	return nil
}

// Observe reads the Application once and evaluates it with EvalArgoCD.
func (a *ArgoCDREST) Observe(ctx context.Context, commit string, acc Acceptor, now time.Time) (Observation, error) {
	body, err := a.get(ctx, "", nil)
	if err != nil {
		return Observation{}, err
	}
	defer body.Close()
	var app ArgoApplication
	if err := json.NewDecoder(io.LimitReader(body, maxArgoCDResponse)).Decode(&app); err != nil {
		return Observation{}, a.redact(fmt.Errorf("%s: read the Application: %w", a.Name(), err))
	}
	c := ArgoCheck{Source: a.Name(), Path: a.Path, Cooldown: a.Cooldown, StuckDeletion: a.StuckDeletion}
	obs, err := EvalArgoCD(ctx, &app, commit, acc, now, c)
	if err != nil {
		return obs, err
	}
	return obs, argoDeletions(ctx, &app, &obs, a.liveObject, now, c, commit)
}

// liveObject reads a resource's live object through the server's resource
// API (GET /api/v1/applications/{name}/resource), which answers with the
// manifest as a JSON string.
func (a *ArgoCDREST) liveObject(ctx context.Context, r ArgoResource) (map[string]any, error) {
	q := url.Values{"namespace": {r.Namespace}, "resourceName": {r.Name}, "group": {r.Group}, "version": {r.Version}, "kind": {r.Kind}}
	body, err := a.get(ctx, "/resource", q)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var resp struct {
		Manifest string `json:"manifest"`
	}
	if err := json.NewDecoder(io.LimitReader(body, maxArgoCDResponse)).Decode(&resp); err != nil {
		return nil, a.redact(fmt.Errorf("%s: read the live %s %s: %w", a.Name(), r.Kind, r.Name, err))
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(resp.Manifest), &obj); err != nil {
		return nil, fmt.Errorf("%s: the live %s %s: %w", a.Name(), r.Kind, r.Name, err)
	}
	return obj, nil
}

// Logs reads the last lines of the logs of a resource's pods through the
// server's logs API (GET /api/v1/applications/{name}/logs with kind, group
// and resourceName; its answer is a stream of {"result": {"content": ...}}
// objects).
func (a *ArgoCDREST) Logs(ctx context.Context, ref ObjectRef, lines int) ([]string, error) {
	q := url.Values{"namespace": {ref.Namespace}, "resourceName": {ref.Name}, "group": {ref.Group}, "kind": {ref.Kind},
		"tailLines": {fmt.Sprint(lines)}, "follow": {"false"}}
	body, err := a.get(ctx, "/logs", q)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	dec := json.NewDecoder(io.LimitReader(body, 1<<20))
	var out []string
	for {
		var entry struct {
			Result struct {
				Content string `json:"content"`
				Last    bool   `json:"last"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := dec.Decode(&entry); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return out, a.redact(fmt.Errorf("read the logs: %w", err))
		}
		if entry.Error != nil {
			return out, errors.New(entry.Error.Message)
		}
		if entry.Result.Last {
			break
		}
		if c := strings.TrimRight(entry.Result.Content, "\n"); c != "" {
			out = append(out, c)
		}
	}
	if len(out) > lines {
		out = out[len(out)-lines:]
	}
	return out, nil
}

// get sends GET /api/v1/applications/{name}{suffix} with the query q (and
// appNamespace) and returns the body of a 200 answer.
func (a *ArgoCDREST) get(ctx context.Context, suffix string, q url.Values) (io.ReadCloser, error) {
	if a.Server == "" || a.App == "" {
		return nil, Permanent(fmt.Errorf("%s: the Argo CD server URL and the app name are both required", a.Name()))
	}
	u, err := url.Parse(strings.TrimRight(a.Server, "/") + "/api/v1/applications/" + url.PathEscape(a.App) + suffix)
	if err != nil {
		return nil, Permanent(fmt.Errorf("%s: bad Argo CD server URL: %w", a.Name(), err))
	}
	if q == nil {
		q = url.Values{}
	}
	if a.AppNamespace != "" {
		q.Set("appNamespace", a.AppNamespace)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, Permanent(a.redact(fmt.Errorf("%s: %w", a.Name(), err)))
	}
	req.Header.Set("Accept", "application/json")
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	c := http.Client{Transport: httptransport.New()}
	if a.HTTPClient != nil {
		c = *a.HTTPClient
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, a.redact(fmt.Errorf("%s: %w", a.Name(), err))
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, Permanent(a.redact(fmt.Errorf("%s: the Argo CD server answered %d, a redirect to %q; bgrender does not follow redirects with the token: set wait.server (or --argocd-server) to the URL the server should be reached at",
			a.Name(), resp.StatusCode, resp.Header.Get("Location"))))
	}
	msg := apiMessage(resp.Body)
	if a.Token != "" {
		msg = strings.ReplaceAll(msg, a.Token, "[token]")
	}
	return nil, &APIError{Source: a.Name(), StatusCode: resp.StatusCode, Message: msg}
}

// apiMessage extracts the message of an Argo CD (grpc-gateway) error body,
// {"error": ..., "code": ..., "message": ...}, or a short piece of any other
// body.
func apiMessage(r io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(r, 4096))
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil {
		if e.Message != "" {
			return e.Message
		}
		return e.Error
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// redact removes the token from err's message (a transport error quoting a
// header, say), keeping err unwrappable.
func (a *ArgoCDREST) redact(err error) error {
	if a.Token == "" || !strings.Contains(err.Error(), a.Token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), a.Token, "[token]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// ArgoApplication is the part of an Argo CD Application (argoproj.io/v1alpha1,
// as the REST API and the Kubernetes API return it) that EvalArgoCD reads.
// The JSON names are Argo CD's.
type ArgoApplication struct {
	Metadata struct {
		Name       string `json:"name"`
		Namespace  string `json:"namespace,omitempty"`
		Generation int64  `json:"generation,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Source      *ArgoSource  `json:"source,omitempty"`
		Sources     []ArgoSource `json:"sources,omitempty"`
		Destination struct {
			Server    string `json:"server,omitempty"`
			Name      string `json:"name,omitempty"`
			Namespace string `json:"namespace,omitempty"`
		} `json:"destination"`
	} `json:"spec"`
	Status ArgoStatus `json:"status"`
}

// ArgoSource is one of an Application's sources.
type ArgoSource struct {
	RepoURL        string `json:"repoURL"`
	Path           string `json:"path,omitempty"`
	TargetRevision string `json:"targetRevision,omitempty"`
	Chart          string `json:"chart,omitempty"`
	Ref            string `json:"ref,omitempty"`
}

// ArgoStatus is an Application's status.
type ArgoStatus struct {
	Sync struct {
		Status    string   `json:"status"`
		Revision  string   `json:"revision,omitempty"`
		Revisions []string `json:"revisions,omitempty"`
	} `json:"sync"`
	Health struct {
		Status             string    `json:"status,omitempty"`
		Message            string    `json:"message,omitempty"`
		LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
	} `json:"health"`
	OperationState *ArgoOperationState `json:"operationState,omitempty"`
	ReconciledAt   time.Time           `json:"reconciledAt,omitzero"`
	Conditions     []ArgoCondition     `json:"conditions,omitempty"`
	Resources      []ArgoResource      `json:"resources,omitempty"`
}

// ArgoOperationState is the state of an Application's current or last
// operation (a sync).
type ArgoOperationState struct {
	Operation struct {
		Sync *struct {
			Revision  string   `json:"revision,omitempty"`
			Revisions []string `json:"revisions,omitempty"`
		} `json:"sync,omitempty"`
	} `json:"operation"`
	// Phase is Running, Terminating, Failed, Error or Succeeded.
	Phase      string `json:"phase"`
	Message    string `json:"message,omitempty"`
	SyncResult *struct {
		Revision  string   `json:"revision"`
		Revisions []string `json:"revisions,omitempty"`
	} `json:"syncResult,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// ArgoCondition is an Application condition, e.g. ComparisonError.
type ArgoCondition struct {
	Type               string    `json:"type"`
	Message            string    `json:"message"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// ArgoResource is one resource in an Application's status.
type ArgoResource struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Status    string `json:"status,omitempty"`
	Health    *struct {
		Status  string `json:"status,omitempty"`
		Message string `json:"message,omitempty"`
	} `json:"health,omitempty"`
}

// ArgoCheck says how EvalArgoCD judges an Application.
type ArgoCheck struct {
	// Source names the source in a FailedError: "argocd app myapp".
	Source string
	// Path picks a multi-source app's source (see ArgoCDREST.Path).
	Path string
	// Cooldown: zero means DefaultArgoCDCooldown, negative none.
	Cooldown time.Duration
	// StuckDeletion: how long a resource may stay pending deletion before
	// the wait fails; zero means DefaultStuckDeletion, negative never.
	StuckDeletion time.Duration
}

// Argo CD's words.
const (
	argoSynced   = "Synced"
	argoHealthy  = "Healthy"
	argoDegraded = "Degraded"
)

// EvalArgoCD evaluates an Argo CD Application against commit at time now. It
// is pure but for acc, which it asks (with ctx) about any revision that is
// not commit itself; a nil acc accepts only commit.
//
// The app is Done when all of these hold, checked in this order (Waiting
// names the first that does not):
//
//   - the revision Argo CD compared with (status.sync.revision; for a
//     multi-source app the entry of status.sync.revisions of the source
//     whose path is c.Path, else of the first source) is commit or a
//     revision acc accepts;
//   - status.sync.status is Synced;
//   - if there is an operationState: it has finished (finishedAt set) and
//     Argo CD has reconciled since (reconciledAt >= finishedAt);
//   - status.health.status is Healthy;
//   - and it has been for the cooldown, counted from the later of the
//     health's lastTransitionTime and the operation's finishedAt (health
//     that never left Healthy keeps an old transition time while the new
//     pods may not have been assessed yet); from reconciledAt when neither
//     is known.
//
// It returns a *FailedError, quoting Argo CD, when:
//
//   - a ComparisonError or InvalidSpecError condition is present, whatever
//     the health (a broken kustomize build leaves the app Healthy at its old
//     revision with sync status Unknown, and names no revision);
//   - the operation Failed or ended in Error for commit or an accepted
//     revision (operationState.syncResult.revision, else
//     operation.sync.revision); a failure for an older revision is not
//     ours: Argo CD will sync ours next;
//   - health is Degraded once our revision is applied: sync.revision is ours
//     and either the app is Synced or the operation for our revision has
//     finished and been reconciled. Degraded while Argo CD still shows an
//     older revision, or while our sync runs, is only waited on.
func EvalArgoCD(ctx context.Context, app *ArgoApplication, commit string, acc Acceptor, now time.Time, c ArgoCheck) (Observation, error) {
	st := &app.Status
	idx, err := sourceIndex(app, c.Path)
	if err != nil {
		return Observation{}, Permanent(fmt.Errorf("%s: %w", c.Source, err))
	}
	rev := pick(st.Sync.Revision, st.Sync.Revisions, idx, app.isMulti())
	obs := Observation{Revision: rev, Sync: st.Sync.Status, Health: st.Health.Status}
	failed := func(reason, msg string) error {
		return &FailedError{Source: c.Source, Commit: commit, Reason: reason, Message: msg}
	}

	for _, cond := range st.Conditions {
		if cond.Type == "ComparisonError" || cond.Type == "InvalidSpecError" {
			return obs, failed(cond.Type, cond.Message)
		}
	}

	// ours answers whether a revision is commit or an acceptable one,
	// asking acc at most once per revision.
	whyNot := map[string]string{}
	ours := func(r string) (bool, error) {
		if r == "" {
			return false, nil
		}
		if strings.EqualFold(r, commit) {
			return true, nil
		}
		if why, asked := whyNot[r]; asked {
			return why == "", nil
		}
		if acc == nil {
			whyNot[r] = "not the commit"
			return false, nil
		}
		ok, why, err := acc.Accept(ctx, commit, r)
		if err != nil {
			return false, fmt.Errorf("%s: is revision %s acceptable for %s: %w", c.Source, shortSHA(r), shortSHA(commit), err)
		}
		if !ok && why == "" {
			why = "not acceptable"
		}
		if ok {
			why = ""
		}
		whyNot[r] = why
		return ok, nil
	}

	op := st.OperationState
	opRev := ""
	if op != nil {
		if op.SyncResult != nil {
			opRev = pick(op.SyncResult.Revision, op.SyncResult.Revisions, idx, app.isMulti())
		}
		if opRev == "" && op.Operation.Sync != nil {
			opRev = pick(op.Operation.Sync.Revision, op.Operation.Sync.Revisions, idx, app.isMulti())
		}
	}
	opFailed := op != nil && (op.Phase == "Failed" || op.Phase == "Error")
	if opFailed {
		opOurs, err := ours(opRev)
		if err != nil {
			return obs, err
		}
		if opOurs {
			msg := op.Message
			if msg == "" {
				msg = "sync " + strings.ToLower(op.Phase)
			}
			return obs, failed("Sync"+op.Phase, msg)
		}
	}

	revOurs, err := ours(rev)
	if err != nil {
		return obs, err
	}
	if st.Health.Status == argoDegraded && revOurs {
		applied := st.Sync.Status == argoSynced
		if !applied && op != nil && !op.FinishedAt.IsZero() && !st.ReconciledAt.Before(op.FinishedAt) {
			if applied, err = ours(opRev); err != nil {
				return obs, err
			}
		}
		if applied {
			return obs, failed(argoDegraded, degradedMessage(app))
		}
	}

	switch {
	case !revOurs:
		obs.Waiting = revisionWaiting(rev, commit, whyNot[rev])
	case st.Sync.Status != argoSynced:
		obs.Waiting = fmt.Sprintf("sync status is %s, want %s", orUnknown(st.Sync.Status), argoSynced)
	case op != nil && op.FinishedAt.IsZero():
		obs.Waiting = fmt.Sprintf("sync operation is %s", orUnknown(op.Phase))
		if op.Message != "" {
			obs.Waiting += ": " + op.Message
		}
	case op != nil && st.ReconciledAt.Before(op.FinishedAt):
		obs.Waiting = fmt.Sprintf("Argo CD has not reconciled the app since its sync finished at %s", op.FinishedAt.UTC().Format(time.RFC3339))
	case st.Health.Status != argoHealthy:
		obs.Waiting = fmt.Sprintf("health is %s, want %s", orUnknown(st.Health.Status), argoHealthy)
		if m := healthMessage(app); m != "" {
			obs.Waiting += ": " + m
		}
	default:
		cooldown := c.Cooldown
		if cooldown == 0 {
			cooldown = DefaultArgoCDCooldown
		}
		since := st.Health.LastTransitionTime
		if op != nil && op.FinishedAt.After(since) {
			since = op.FinishedAt
		}
		if since.IsZero() {
			since = st.ReconciledAt
		}
		if left := since.Add(cooldown).Sub(now); cooldown > 0 && !since.IsZero() && left > 0 {
			obs.Waiting = fmt.Sprintf("Healthy for %s, cooldown %s left", roundUp(now.Sub(since)), roundUp(left))
			break
		}
		obs.Done = true
	}
	if !obs.Done {
		for _, cond := range st.Conditions {
			if strings.HasSuffix(cond.Type, "Error") {
				obs.Waiting += fmt.Sprintf(" (%s: %s)", cond.Type, cond.Message)
			}
		}
		if revOurs && st.Sync.Status != argoSynced {
			if out := outOfSync(app); out != "" {
				obs.Waiting += "; " + out
			}
		}
	}
	return obs, nil
}

// outOfSync names the app's resources that are not Synced, with their
// health (e.g. one stuck deleting, which keeps the app OutOfSync): up to
// three, then how many more.
func outOfSync(app *ArgoApplication) string {
	var parts []string
	more := 0
	for _, r := range app.Status.Resources {
		if r.Status == "" || r.Status == argoSynced {
			continue
		}
		if len(parts) == 3 {
			more++
			continue
		}
		s := fmt.Sprintf("%s %s is %s", r.Kind, resourceName(r), r.Status)
		if r.Health != nil && r.Health.Status != "" {
			s += ", " + r.Health.Status
			if r.Health.Message != "" {
				s += ": " + r.Health.Message
			}
		}
		parts = append(parts, s)
	}
	if more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

func (app *ArgoApplication) isMulti() bool {
	return app.Spec.Source == nil && len(app.Spec.Sources) > 0
}

// sourceIndex returns the index of the source whose path is p in a
// multi-source app (0 when p is empty or the app has one source).
func sourceIndex(app *ArgoApplication, p string) (int, error) {
	if !app.isMulti() || p == "" {
		return 0, nil
	}
	want := cleanPath(p)
	var paths []string
	for i, s := range app.Spec.Sources {
		if cleanPath(s.Path) == want {
			return i, nil
		}
		paths = append(paths, fmt.Sprintf("%q", s.Path))
	}
	return 0, fmt.Errorf("no source of the app has path %q (its sources' paths: %s)", p, strings.Join(paths, ", "))
}

func cleanPath(p string) string {
	return strings.Trim(path.Clean("/"+p), "/")
}

// pick returns the single revision, or for a multi-source app the entry at
// idx of revisions (falling back on the single one).
func pick(single string, multi []string, idx int, isMulti bool) string {
	if isMulti && idx < len(multi) {
		return multi[idx]
	}
	if single == "" && idx < len(multi) {
		return multi[idx]
	}
	return single
}

func revisionWaiting(rev, commit, why string) string {
	if rev == "" {
		return fmt.Sprintf("no revision reported yet, want %s", shortSHA(commit))
	}
	s := fmt.Sprintf("revision %s is not %s yet", shortSHA(rev), shortSHA(commit))
	if why != "" && why != "not the commit" {
		s += ": " + why
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "not reported"
	}
	return s
}

// healthMessage is the app's health message, else those of its resources
// that are not Healthy.
func healthMessage(app *ArgoApplication) string {
	if app.Status.Health.Message != "" {
		return app.Status.Health.Message
	}
	var parts []string
	for _, r := range app.Status.Resources {
		if r.Health == nil || r.Health.Status == argoHealthy || r.Health.Status == "" {
			continue
		}
		s := fmt.Sprintf("%s %s is %s", r.Kind, resourceName(r), r.Health.Status)
		if r.Health.Message != "" {
			s += ": " + r.Health.Message
		}
		parts = append(parts, s)
		if len(parts) == 3 {
			break
		}
	}
	return strings.Join(parts, "; ")
}

func degradedMessage(app *ArgoApplication) string {
	if m := healthMessage(app); m != "" {
		return m
	}
	return "the app's health is Degraded"
}

func resourceName(r ArgoResource) string {
	if r.Namespace != "" {
		return r.Namespace + "/" + r.Name
	}
	return r.Name
}

// roundUp rounds d up to a whole second (down for whole seconds).
func roundUp(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
