// Package config reads and writes bgrender.yaml, the user's description of one
// app: its name, namespace, image repository, port, readiness path, Istio
// gateway and hosts, and the selector of the test route.
//
// Start with Parse (which applies defaults and validates every field, naming
// the field and line in errors) and Default (what `bgrender init` scaffolds).
package config
