package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bgrender/bgrender/pkg/config"
)

// GitHub deployment status states bgrender posts.
const (
	GitHubInProgress = "in_progress"
	GitHubSuccess    = "success"
	GitHubFailure    = "failure"
	GitHubInactive   = "inactive"
)

// githubTask is the task of bgrender's deployments, with which it finds
// them again.
const githubTask = "deploy"

// githubDescriptionMax is GitHub's limit on a status description.
const githubDescriptionMax = 140

// GitHubDeploymentRequest is the body of POST /repos/{owner}/{repo}/deployments.
type GitHubDeploymentRequest struct {
	Ref              string        `json:"ref"`
	Task             string        `json:"task"`
	AutoMerge        bool          `json:"auto_merge"`
	RequiredContexts []string      `json:"required_contexts"`
	Payload          GitHubPayload `json:"payload"`
	Environment      string        `json:"environment"`
	Description      string        `json:"description"`
	Production       bool          `json:"production_environment"`
}

// GitHubPayload is what bgrender keeps in a deployment's payload: the
// release it is of.
type GitHubPayload struct {
	App     string `json:"app"`
	Dir     string `json:"dir"`
	Release string `json:"release"`
	Version string `json:"version"`
	Color   string `json:"color"`
}

// GitHubStatusRequest is the body of POST .../deployments/{id}/statuses.
type GitHubStatusRequest struct {
	State        string `json:"state"`
	Description  string `json:"description"`
	Environment  string `json:"environment"`
	AutoInactive bool   `json:"auto_inactive"`
}

type github struct {
	s     *session
	t     config.GitHubTarget
	token string
}

// send records ev as the deployment statuses it means.
func (g *github) send(ctx context.Context, ev Event) error {
	var err error
	switch ev.Type {
	case config.EventDeployed, config.EventVerified:
		err = g.status(ctx, ev, ev.Release, GitHubInProgress, true)
	case config.EventPromoted:
		if err = g.status(ctx, ev, ev.Release, GitHubSuccess, true); err == nil && ev.Replaced != nil {
			err = g.status(ctx, ev, ev.Replaced, GitHubInactive, false)
		}
	case config.EventRolledBack:
		if err = g.status(ctx, ev, ev.Release, GitHubFailure, true); err == nil && ev.Live != nil {
			err = g.status(ctx, ev, ev.Live, GitHubSuccess, true)
		}
	case config.EventAborted, config.EventFailed:
		err = g.status(ctx, ev, ev.Release, GitHubFailure, true)
	case config.EventDecommissioned:
		err = g.status(ctx, ev, ev.Release, GitHubInactive, false)
	}
	if err != nil {
		return fmt.Errorf("github deployments of %s: %w", g.t.Repository, err)
	}
	return nil
}

// status posts state on r's deployment, made first when there is none and
// create is set (a target added after the release was deployed); with
// neither, there is nothing to record.
func (g *github) status(ctx context.Context, ev Event, r *Release, state string, create bool) error {
	if r == nil {
		return nil
	}
	id, err := g.find(ctx, r.ID)
	if err != nil {
		return err
	}
	if id == 0 {
		if !create {
			return nil
		}
		if id, err = g.create(ctx, ev, r); err != nil {
			return err
		}
	}
	desc := ev.Summary
	if r != ev.Release {
		desc = fmt.Sprintf("%s: %s", ev.Type, r.describe())
		if state == GitHubInactive {
			desc = fmt.Sprintf("%s no longer takes traffic (%s)", r.describe(), ev.Type)
		}
	}
	body, err := json.Marshal(GitHubStatusRequest{
		State: state, Description: clip(desc, githubDescriptionMax), Environment: g.t.Environment,
		// bgrender says which deployment went inactive itself: a
		// rollback's success must not retire the release rolled back to.
		AutoInactive: false,
	})
	if err != nil {
		return err
	}
	_, err = g.s.do(ctx, g.req(http.MethodPost, g.repoPath()+"/deployments/"+strconv.FormatInt(id, 10)+"/statuses", body))
	if err != nil {
		return fmt.Errorf("post %s status of %s: %w", state, r.describe(), err)
	}
	return nil
}

// find is the id of release's deployment in the environment (0: none),
// among the latest 100.
func (g *github) find(ctx context.Context, release string) (int64, error) {
	q := url.Values{"environment": {g.t.Environment}, "task": {githubTask}, "per_page": {"100"}}
	data, err := g.s.do(ctx, g.req(http.MethodGet, g.repoPath()+"/deployments?"+q.Encode(), nil))
	if err != nil {
		return 0, fmt.Errorf("list deployments: %w", err)
	}
	var list []struct {
		ID      int64           `json:"id"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return 0, fmt.Errorf("list deployments: the answer is not a list of deployments: %w", err)
	}
	for _, d := range list {
		var p GitHubPayload
		if json.Unmarshal(d.Payload, &p) == nil && p.Release == release {
			return d.ID, nil
		}
	}
	return 0, nil
}

func (g *github) create(ctx context.Context, ev Event, r *Release) (int64, error) {
	ref := ev.Commit
	if g.t.Ref == config.RefVersion {
		ref = r.Version
	}
	if ref == "" {
		return 0, fmt.Errorf("no deployment of %s to record the %s on, and no commit to make one of", r.describe(), ev.Type)
	}
	body, err := json.Marshal(GitHubDeploymentRequest{
		Ref: ref, Task: githubTask, AutoMerge: false, RequiredContexts: []string{},
		Payload:     GitHubPayload{App: ev.App, Dir: ev.Dir, Release: r.ID, Version: r.Version, Color: r.Color},
		Environment: g.t.Environment,
		Description: clip(fmt.Sprintf("bgrender: %s %s", ev.App, r.describe()), githubDescriptionMax),
		Production:  true,
	})
	if err != nil {
		return 0, err
	}
	data, err := g.s.do(ctx, g.req(http.MethodPost, g.repoPath()+"/deployments", body))
	if err != nil {
		return 0, fmt.Errorf("create the deployment of %s: %w", r.describe(), err)
	}
	var made struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(data, &made); err != nil || made.ID == 0 {
		return 0, fmt.Errorf("create the deployment of %s: the answer has no deployment id: %s", r.describe(), shorten(string(data)))
	}
	return made.ID, nil
}

func (g *github) repoPath() string { return g.t.APIURL + "/repos/" + g.t.Repository }

func (g *github) req(method, u string, body []byte) request {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+g.token)
	h.Set("Accept", "application/vnd.github+json")
	h.Set("X-GitHub-Api-Version", "2022-11-28")
	return request{method: method, url: u, header: h, body: body}
}
