// Package release describes bgrender's transitions as the commits that
// carry them: each commit's subject, the note on what it did to the warm
// standby, its trailers, and the one-line route it leaves. It is pure: the
// same states and config give the same words, so the CLI, a Go program
// driving releases and `check --base` agree on what a commit says.
//
// # Where to start
//
// Load reads an app dir from a commit (App: its files, the shared files it
// reaches, config and state). A transition is a pkg/state function of
// App.State; App.Commit renders the app dir for the next state (Files),
// builds and checks it (Check: routing, and problems the objects did not
// have before) and commits it with a compare-and-swap push, so a Go program
// can run the cycle without the CLI (see the package example).
//
// Subject names the commit that takes an app from one state to the next
// (state.State.Last says which transition that is); Trailers are its
// machine-readable facts (the keys are pkg/gate's); Route says where test
// and ordinary traffic go in a state; Note says when a deploy replaced, or an
// abort gave back, the warm standby.
package release
