// Package release is bgrender's release engine: it runs the transitions
// and releases of an app dir in an env repo as commits, and describes each
// commit. It prints nothing and exits nothing; the CLI is a shell over it,
// and a Go program, a controller or a pipeline step can drive it the same
// way.
//
// # Where to start
//
// Engine runs transitions. Its collaborators are fields: Open reads the
// app at the branch head (Load), a render.Builder builds it, a Publisher
// publishes each commit (Direct pushes to the branch, Proposal opens a
// pull request), a Waiter waits for the GitOps controller, a Smoker runs
// the smoke checks, Now and Sleep are the clock, and OnCommit receives
// each commit as it lands.
//
//   - Engine.Run is the pipeline every transition goes through, written
//     once: read at the head, guard (Expect.Guard), step, render (Files),
//     check the build (App.Check), publish, and a compare-and-swap push
//     that runs the whole pipeline again on the new head when another
//     transition landed first (Retrier).
//   - Engine.Deploy and Engine.Abort split make-before-break transitions
//     into commits with a wait between; Engine.Verify waits, smoke-tests
//     the release under test through the test route and commits the
//     evidence.
//   - Engine.Release runs the whole cycle (deploy, wait, verify, promote,
//     wait, checks on the default route), aborting or rolling back on a
//     failure, and returns a Summary of what it did.
//
// Checker checks app dirs as committed (what `bgrender check` runs): drift,
// the build, routing, the objects' problems, a change no color runs yet,
// two dirs that claim one app or object, and, against a pull request's
// base, hand-made state changes, the Argo CD token's target and proposals
// rendered on an older base.
//
// Errors are of three kinds: UsageError, a refusal (IsRefused: a safety
// check said no, nothing changed) and a failure (anything else).
//
// # Describing commits
//
// Subject names the commit that takes an app from one state to the next
// (state.State.Last says which transition that is); Trailers are its
// machine-readable facts (the keys are pkg/gate's); Route says where test
// and ordinary traffic go in a state; Note says when a deploy replaced, or
// an abort gave back, the warm standby. These are pure: the same states
// and config give the same words, so the CLI, a Go program and
// `check --base` agree on what a commit says.
//
// App.Commit commits one transition without an Engine, for a program that
// computes its own next state (see the package example).
package release
