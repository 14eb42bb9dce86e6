package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bgrender/bgrender/pkg/gitops"
	"github.com/bgrender/bgrender/pkg/vet"
)

// limitOpts are the flags that bound the work an app dir can cause: an env
// repo's content is untrusted when check gates a pull request.
type limitOpts struct {
	fileSize, appSize                string
	nodes, entries, depth, documents int64
}

const limitsCategory = "Limits on repo content (per app dir; raise them for big apps)"

func limitFlags(o *limitOpts) []cli.Flag {
	d := vet.DefaultLimits()
	return []cli.Flag{
		&cli.StringFlag{Name: "max-file-size", Value: formatSize(d.FileBytes), Destination: &o.fileSize, Category: limitsCategory,
			Usage: "largest file in an app dir (bytes, or with KiB, MiB, GiB)"},
		&cli.StringFlag{Name: "max-app-size", Value: formatSize(d.DirBytes), Destination: &o.appSize, Category: limitsCategory,
			Usage: "largest app dir, all its files together"},
		&cli.Int64Flag{Name: "max-yaml-nodes", Value: d.Nodes, Destination: &o.nodes, Category: limitsCategory,
			Usage: "most YAML nodes in one file, counting every alias as expanded"},
		&cli.Int64Flag{Name: "max-yaml-entries", Value: d.Entries, Destination: &o.entries, Category: limitsCategory,
			Usage: "most entries in one YAML mapping or sequence (e.g. ConfigMap keys)"},
		&cli.Int64Flag{Name: "max-yaml-depth", Value: d.Depth, Destination: &o.depth, Category: limitsCategory,
			Usage: "deepest nesting of YAML mappings and sequences"},
		&cli.Int64Flag{Name: "max-yaml-documents", Value: d.Documents, Destination: &o.documents, Category: limitsCategory,
			Usage: "most YAML documents (objects) in an app dir"},
	}
}

// limits checks the flags and returns the limits they set.
func (o limitOpts) limits() (vet.Limits, error) {
	file, err := parseSize("--max-file-size", o.fileSize)
	if err != nil {
		return vet.Limits{}, err
	}
	app, err := parseSize("--max-app-size", o.appSize)
	if err != nil {
		return vet.Limits{}, err
	}
	for name, v := range map[string]int64{"--max-yaml-nodes": o.nodes, "--max-yaml-entries": o.entries, "--max-yaml-depth": o.depth, "--max-yaml-documents": o.documents} {
		if v < 1 {
			return vet.Limits{}, usagef("%s %d: must be at least 1", name, v)
		}
	}
	return vet.Limits{FileBytes: file, DirBytes: app, Nodes: o.nodes, Entries: o.entries, Depth: o.depth, Documents: o.documents}, nil
}

var sizeUnits = []struct {
	suffix string
	factor int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads "2MiB", "512KiB" or a number of bytes.
func parseSize(flag, s string) (int64, error) {
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/factor {
		return 0, usagef("%s %q: want a size such as 2MiB, 512KiB or 1048576", flag, s)
	}
	return n * factor, nil
}

func formatSize(n int64) string {
	for _, u := range sizeUnits {
		if n >= u.factor && n%u.factor == 0 {
			return fmt.Sprintf("%d%s", n/u.factor, u.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}

// limitFlag names the flag that raises a limit.
func limitFlag(l vet.Limit) string {
	switch l {
	case vet.LimitFileBytes:
		return "--max-file-size"
	case vet.LimitDirBytes:
		return "--max-app-size"
	case vet.LimitNodes:
		return "--max-yaml-nodes"
	case vet.LimitEntries:
		return "--max-yaml-entries"
	case vet.LimitDepth:
		return "--max-yaml-depth"
	case vet.LimitDocuments:
		return "--max-yaml-documents"
	}
	return ""
}

// limitHint says how to raise the limit an error is about, if it is one.
func limitHint(err error) string {
	var le *vet.LimitError
	var tl *gitops.TooLargeError
	switch {
	case errors.As(err, &le):
		if f := limitFlag(le.Limit); f != "" {
			return fmt.Sprintf(" (if the app really needs it, raise %s)", f)
		}
	case errors.As(err, &tl):
		if tl.Dir {
			return " (if the app really needs it, raise --max-app-size)"
		}
		return " (if the app really needs it, raise --max-file-size)"
	}
	return ""
}
