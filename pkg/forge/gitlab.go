package forge

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// gitlab speaks GitLab's REST API v4. The project is addressed by its
// URL-encoded full path (group%2Fsub%2Fproject) or its numeric ID:
//
//	create: POST /projects/{id}/merge_requests {source_branch, target_branch, title, description} -> 201;
//	        409 {"message": ["Another open merge request already exists for this source branch: !7"]}
//	find:   GET  /projects/{id}/merge_requests?state=opened&source_branch=...&target_branch=...
//	update: PUT  /projects/{id}/merge_requests/{iid} {title, description} -> 200
type gitlab struct {
	c       *Client
	project string
}

type gitlabMR struct {
	IID             int    `json:"iid"`
	WebURL          string `json:"web_url"`
	State           string `json:"state"`
	SourceBranch    string `json:"source_branch"`
	TargetBranch    string `json:"target_branch"`
	SourceProjectID int64  `json:"source_project_id"`
	TargetProjectID int64  `json:"target_project_id"`
}

// mrs is the merge requests path; segments escapes the project path's
// slashes as %2F, which GitLab requires.
func (g *gitlab) mrs() string { return segments("projects", g.project, "merge_requests") }

func (g *gitlab) create(ctx context.Context, r Request) (PR, string, error) {
	in := struct {
		SourceBranch string `json:"source_branch"`
		TargetBranch string `json:"target_branch"`
		Title        string `json:"title"`
		Description  string `json:"description"`
	}{r.Head, r.Base, r.Title, r.Body}
	resp, err := g.c.send(ctx, http.MethodPost, g.mrs(), nil, in)
	if err != nil {
		return PR{}, "", err
	}
	if resp.ok() {
		var mr gitlabMR
		if err := g.c.decode(resp, &mr); err != nil {
			return PR{}, "", err
		}
		return PR{Number: mr.IID, URL: mr.WebURL}, "", nil
	}
	// Creating a merge request answers 409 only when an open one for the
	// same source and target branches exists.
	if resp.status == http.StatusConflict {
		return PR{}, g.c.redact.string(forgeMessage(resp.body)), nil
	}
	return PR{}, "", g.c.apiError(resp, "")
}

func (g *gitlab) find(ctx context.Context, r Request) (PR, bool, error) {
	q := url.Values{
		"state":         {"opened"},
		"source_branch": {r.Head},
		"target_branch": {r.Base},
		"per_page":      {"100"},
	}
	resp, err := g.c.send(ctx, http.MethodGet, g.mrs(), q, nil)
	if err != nil {
		return PR{}, false, err
	}
	if !resp.ok() {
		return PR{}, false, g.c.apiError(resp, "")
	}
	var list []gitlabMR
	if err := g.c.decode(resp, &list); err != nil {
		return PR{}, false, err
	}
	var best *gitlabMR
	for i, mr := range list {
		if mr.State != "opened" || mr.SourceBranch != r.Head || mr.TargetBranch != r.Base || mr.IID <= 0 {
			continue
		}
		if mr.SourceProjectID != 0 && mr.TargetProjectID != 0 && mr.SourceProjectID != mr.TargetProjectID {
			continue // from a fork's branch of the same name
		}
		if best == nil || mr.IID < best.IID {
			best = &list[i]
		}
	}
	if best == nil {
		return PR{}, false, nil
	}
	return PR{Number: best.IID, URL: best.WebURL}, true, nil
}

func (g *gitlab) update(ctx context.Context, iid int, r Request) (PR, error) {
	in := struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}{r.Title, r.Body}
	resp, err := g.c.send(ctx, http.MethodPut, g.mrs()+segments(strconv.Itoa(iid)), nil, in)
	if err != nil {
		return PR{}, err
	}
	if !resp.ok() {
		return PR{}, g.c.apiError(resp, "merge request !"+strconv.Itoa(iid)+" is gone")
	}
	var mr gitlabMR
	if err := g.c.decode(resp, &mr); err != nil {
		return PR{}, err
	}
	return PR{Number: mr.IID, URL: mr.WebURL}, nil
}
