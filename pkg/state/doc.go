// Package state is bgrender's release model: the two colors, the releases that
// occupy them (active, under test, warm standby), and the transitions between
// them as pure functions from one State to the next.
//
// Nothing here touches git, files or kustomize. Start with State and the
// transition functions in transition.go (Deploy, Promote, Rollback, Abort,
// Decommission); Parse and Marshal read and write the state file; Validate
// checks the invariants every state must hold. A transition that a safety check
// forbids returns a *RefusedError, which the CLI maps to exit code 3.
package state
