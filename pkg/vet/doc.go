// Package vet bounds the work that an app directory's files can cause, before
// anything else parses them.
//
// An env repo's content is untrusted when `bgrender check` gates a pull
// request: its author controls every file. YAML lets a few hundred bytes
// expand into billions of nodes (an alias bomb), and kustomize's build costs
// grow faster than their input with big mappings and many objects. So every
// file of an app dir goes through Files first, under Limits: its size, the
// size of the whole directory, and for each file that parses as YAML the
// number of nodes once aliases are expanded (counted without expanding them),
// the nesting depth, the entries of one mapping or sequence and the number of
// documents. A file over a limit gives a *LimitError naming the file, the
// limit and its value, in time linear in the file's size.
//
// # Where to start
//
// DefaultLimits are what bgrender uses unless told otherwise; each is
// documented on its Limits field. Files checks a whole app dir; YAML checks
// one file's content. Both are pure: no files, no clock.
package vet
