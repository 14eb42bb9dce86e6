package forge

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// gitea speaks the API of Gitea and Forgejo (v1):
//
//	create: POST  /repos/{owner}/{repo}/pulls {head, base, title, body} -> 201;
//	        409 "pull request already exists for these targets [...]" if one is open
//	find:   GET   /repos/{owner}/{repo}/pulls/{base}/{head} (Gitea 1.22 and later),
//	        else  GET /repos/{owner}/{repo}/pulls?state=open&page=N&limit=M
//	update: PATCH /repos/{owner}/{repo}/pulls/{index} {title, body} -> 201
type gitea struct {
	c           *Client
	owner, name string
}

// giteaPageSize is the page size asked for when listing; small, since every
// pull request carries both repositories in full.
const giteaPageSize = 20

// giteaMaxPages bounds the listing.
const giteaMaxPages = 100

type giteaPull struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Merged  bool   `json:"merged"`
	Head    struct {
		Ref    string `json:"ref"`
		RepoID int64  `json:"repo_id"`
	} `json:"head"`
	Base struct {
		Ref    string `json:"ref"`
		RepoID int64  `json:"repo_id"`
	} `json:"base"`
}

// matches reports whether p is the open pull request from r.Head into r.Base
// within this repository.
func (p *giteaPull) matches(r Request) bool {
	return p.Number > 0 && p.State == "open" && !p.Merged &&
		p.Head.Ref == r.Head && p.Base.Ref == r.Base &&
		(p.Head.RepoID == 0 || p.Base.RepoID == 0 || p.Head.RepoID == p.Base.RepoID)
}

func (g *gitea) pulls() string { return segments("repos", g.owner, g.name, "pulls") }

func (g *gitea) create(ctx context.Context, r Request) (PR, string, error) {
	in := struct {
		Head  string `json:"head"`
		Base  string `json:"base"`
		Title string `json:"title"`
		Body  string `json:"body"`
	}{r.Head, r.Base, r.Title, r.Body}
	resp, err := g.c.send(ctx, http.MethodPost, g.pulls(), nil, in)
	if err != nil {
		return PR{}, "", err
	}
	if resp.ok() {
		var p giteaPull
		if err := g.c.decode(resp, &p); err != nil {
			return PR{}, "", err
		}
		return PR{Number: p.Number, URL: p.HTMLURL}, "", nil
	}
	// Creating a pull request answers 409 only when an open, unmerged one
	// for the same head and base exists.
	if resp.status == http.StatusConflict {
		return PR{}, g.c.redact.string(forgeMessage(resp.body)), nil
	}
	return PR{}, "", g.c.apiError(resp, "")
}

func (g *gitea) find(ctx context.Context, r Request) (PR, bool, error) {
	// The base/head endpoint returns a pull request for the pair whatever
	// its state (possibly an old closed one): only an open one is used, else
	// the open ones are listed. Older servers (Gitea before 1.22, and Forgejo
	// releases without the endpoint) answer 404.
	var head strings.Builder
	for i, s := range strings.Split(r.Head, "/") {
		if i > 0 {
			head.WriteByte('/')
		}
		head.WriteString(url.PathEscape(s))
	}
	resp, err := g.c.send(ctx, http.MethodGet, g.pulls()+segments(r.Base)+"/"+head.String(), nil, nil)
	if err != nil {
		return PR{}, false, err
	}
	switch {
	case resp.ok():
		var p giteaPull
		if err := g.c.decode(resp, &p); err != nil {
			return PR{}, false, err
		}
		if p.matches(r) {
			return PR{Number: p.Number, URL: p.HTMLURL}, true, nil
		}
	case resp.status == http.StatusNotFound || resp.status == http.StatusMethodNotAllowed:
	default:
		return PR{}, false, g.c.apiError(resp, "")
	}
	return g.list(ctx, r)
}

// list pages through the open pull requests into r.Base.
func (g *gitea) list(ctx context.Context, r Request) (PR, bool, error) {
	var best *giteaPull
	seen := 0
	for page := 1; page <= giteaMaxPages; page++ {
		q := url.Values{
			"state":       {"open"},
			"base_branch": {r.Base}, // newer servers filter; older ones ignore it
			"page":        {strconv.Itoa(page)},
			"limit":       {strconv.Itoa(giteaPageSize)},
		}
		resp, err := g.c.send(ctx, http.MethodGet, g.pulls(), q, nil)
		if err != nil {
			return PR{}, false, err
		}
		if !resp.ok() {
			return PR{}, false, g.c.apiError(resp, "")
		}
		var list []giteaPull
		if err := g.c.decode(resp, &list); err != nil {
			return PR{}, false, err
		}
		for i := range list {
			if list[i].matches(r) && (best == nil || list[i].Number < best.Number) {
				best = &list[i]
			}
		}
		seen += len(list)
		// The server may cap the page size below the one asked for, so
		// only an empty page or the total count ends the listing.
		total, err := strconv.Atoi(resp.header.Get("X-Total-Count"))
		if len(list) == 0 || (err == nil && seen >= total) {
			break
		}
	}
	if best == nil {
		return PR{}, false, nil
	}
	return PR{Number: best.Number, URL: best.HTMLURL}, true, nil
}

func (g *gitea) update(ctx context.Context, index int, r Request) (PR, error) {
	in := struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	}{r.Title, r.Body}
	resp, err := g.c.send(ctx, http.MethodPatch, g.pulls()+segments(strconv.Itoa(index)), nil, in)
	if err != nil {
		return PR{}, err
	}
	if !resp.ok() {
		return PR{}, g.c.apiError(resp, "pull request #"+strconv.Itoa(index)+" is gone")
	}
	var p giteaPull
	if err := g.c.decode(resp, &p); err != nil {
		return PR{}, err
	}
	return PR{Number: p.Number, URL: p.HTMLURL}, nil
}
