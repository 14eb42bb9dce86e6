package forge

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// github speaks GitHub's (and GitHub Enterprise Server's) REST API:
//
//	create: POST  /repos/{owner}/{repo}/pulls {title, head, base, body} -> 201;
//	        422 with "A pull request already exists for owner:branch." if one is open
//	find:   GET   /repos/{owner}/{repo}/pulls?state=open&head=owner:branch&base=base
//	update: PATCH /repos/{owner}/{repo}/pulls/{number} {title, body} -> 200
type github struct {
	c           *Client
	owner, name string
}

type githubPull struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Head    struct {
		Ref  string `json:"ref"`
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

func (g *github) pulls() string { return segments("repos", g.owner, g.name, "pulls") }

func (g *github) create(ctx context.Context, r Request) (PR, string, error) {
	in := struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
	}{r.Title, r.Head, r.Base, r.Body}
	resp, err := g.c.send(ctx, http.MethodPost, g.pulls(), nil, in)
	if err != nil {
		return PR{}, "", err
	}
	if resp.ok() {
		var p githubPull
		if err := g.c.decode(resp, &p); err != nil {
			return PR{}, "", err
		}
		return PR{Number: p.Number, URL: p.HTMLURL}, "", nil
	}
	// 422 is GitHub's answer to every validation failure; only this one
	// means an open pull request exists.
	if msg := forgeMessage(resp.body); resp.status == http.StatusUnprocessableEntity &&
		strings.Contains(strings.ToLower(msg), "pull request already exists") {
		return PR{}, g.c.redact.string(msg), nil
	}
	return PR{}, "", g.c.apiError(resp, "")
}

func (g *github) find(ctx context.Context, r Request) (PR, bool, error) {
	q := url.Values{
		"state":    {"open"},
		"head":     {g.owner + ":" + r.Head},
		"base":     {r.Base},
		"per_page": {"100"},
	}
	resp, err := g.c.send(ctx, http.MethodGet, g.pulls(), q, nil)
	if err != nil {
		return PR{}, false, err
	}
	if !resp.ok() {
		return PR{}, false, g.c.apiError(resp, "")
	}
	var list []githubPull
	if err := g.c.decode(resp, &list); err != nil {
		return PR{}, false, err
	}
	var best *githubPull
	for i, p := range list {
		if p.State != "open" || p.Head.Ref != r.Head || p.Base.Ref != r.Base || p.Number <= 0 {
			continue
		}
		if p.Head.Repo != nil && !strings.EqualFold(p.Head.Repo.FullName, g.owner+"/"+g.name) {
			continue // a fork's branch of the same name
		}
		if best == nil || p.Number < best.Number {
			best = &list[i]
		}
	}
	if best == nil {
		return PR{}, false, nil
	}
	return PR{Number: best.Number, URL: best.HTMLURL}, true, nil
}

func (g *github) update(ctx context.Context, number int, r Request) (PR, error) {
	in := struct {
		Title string `json:"title"`
		Body  string `json:"body"`
	}{r.Title, r.Body}
	resp, err := g.c.send(ctx, http.MethodPatch, g.pulls()+segments(strconv.Itoa(number)), nil, in)
	if err != nil {
		return PR{}, err
	}
	if !resp.ok() {
		return PR{}, g.c.apiError(resp, "pull request #"+strconv.Itoa(number)+" is gone")
	}
	var p githubPull
	if err := g.c.decode(resp, &p); err != nil {
		return PR{}, err
	}
	return PR{Number: p.Number, URL: p.HTMLURL}, nil
}
