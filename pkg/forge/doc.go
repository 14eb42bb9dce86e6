// Package forge opens a pull request (a merge request on GitLab) for a branch
// that bgrender pushed to the env repository, on GitHub (and GitHub
// Enterprise), GitLab, or Gitea and Forgejo (Forgejo speaks Gitea's API).
//
// Start with New, which validates a Config (kind, API base URL, repository,
// token) and names the flag or setting at fault; then Client.OpenOrUpdate
// opens a pull request for a Request, or, when an open one for the same head
// and base branches exists already, updates its title and body: an open pull
// request for a branch is updated, never duplicated. It creates first and
// treats the forge's documented "already exists" answer (GitHub 422, GitLab
// and Gitea 409) as the signal to find and update the open one, so two runs
// racing for the same branch still end with one pull request; it never lists
// first and creates after. FromRemote guesses the kind, base URL and
// repository from a git remote URL, and TokenFromEnv says which environment
// variables hold the token (the package itself reads no environment).
//
// The package speaks each forge's REST API directly over net/http instead of
// using go-github, go-gitlab or the Gitea SDK: it needs three endpoints per
// forge (create, find the open one, update), and each SDK is a large
// dependency tree with its own release cadence and breaking changes to
// follow, for a few dozen lines of JSON each. The request and response shapes
// used here are the documented ones; the tests run each forge's calls against
// an in-memory server that checks them strictly.
//
// The token is sent only in a header to the configured API URL: redirects are
// never followed (a forge that redirects gets an error naming the new
// address), and the token is redacted from every error, even when a server
// echoes it back. Response bodies are read up to 1 MiB.
package forge
