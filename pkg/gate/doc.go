// Package gate judges a pull request to the env repo the way `bgrender
// check --base` does: every change a pull request makes to an app's
// release state must be a bgrender transition, recorded as such and valid
// from the state before it, so that nobody promotes an unverified release
// by editing bgrender-state.yaml and rendering again.
//
// # Where to start
//
// Checker.Chain finds the commits of a pull request branch that changed an
// app dir since the branch left its base (following a merge commit to the
// side it took the app from). Checker.HandMade replays them one by one with
// state.Replay and returns, in words, each change that no transition
// explains: a state edited without a transition commit, a commit whose
// trailers name a transition its state does not match, a transition commit
// that also edits the app's own files, and verification evidence that
// names no deploy of the release on the base.
//
// The trailers a transition commit carries are named here (TrailerApp and
// the rest); bgrender's commands write them.
//
// Reading untrusted history is bounded: at most MaxChain commits are
// walked, and every state file is measured with vet.YAML before it is
// parsed.
package gate
