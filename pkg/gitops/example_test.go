package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bgrender/bgrender/pkg/gitops"
)

// A transition: open the env repo, read one app's files, commit new ones
// with trailers and push, then find the commit again.
func Example() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "gitops-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	remote := filepath.Join(tmp, "env.git")
	if err := gitops.InitBare(remote, "main"); err != nil {
		fmt.Println(err)
		return
	}

	r, err := gitops.Open(ctx, gitops.Options{Repo: "file://" + filepath.ToSlash(remote), Push: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	res, err := r.Apply(ctx, gitops.Change{
		Dir: "apps/shop",
		Files: map[string][]byte{
			"bgrender-state.yaml":              []byte("active: blue\n"),
			"overlays/blue/kustomization.yaml": []byte("resources: [../../base]\n"),
		},
		Replace: []string{"overlays/blue"},
		Message: gitops.FormatMessage("shop: deploy v2 to blue", "", []gitops.Trailer{
			{Key: "Bgrender-App", Value: "shop"},
			{Key: "Bgrender-Transition", Value: "deploy"},
		}),
		Author: gitops.Signature{Name: "bgrender", Email: "bgrender@example.com", When: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pushed:", res.Pushed, "first commit:", res.Parent.IsZero())

	files, err := r.ReadDir(ctx, "apps/shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	fmt.Println(paths)

	last, err := r.LastChange(ctx, "apps/shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(last.Hash == res.Commit, last.Trailers)
	// Output:
	// pushed: true first commit: true
	// [bgrender-state.yaml overlays/blue/kustomization.yaml]
	// true [{Bgrender-App shop} {Bgrender-Transition deploy}]
}

func ExampleFormatMessage() {
	msg := gitops.FormatMessage("shop: promote green", "Green has passed its checks.", []gitops.Trailer{
		{Key: "Bgrender-App", Value: "shop"},
		{Key: "Bgrender-Release", Value: "r-42\n(newlines become spaces)"},
	})
	fmt.Print(msg)
	fmt.Println(gitops.ParseTrailers(msg))
	// Output:
	// shop: promote green
	//
	// Green has passed its checks.
	//
	// Bgrender-App: shop
	// Bgrender-Release: r-42 (newlines become spaces)
	// [{Bgrender-App shop} {Bgrender-Release r-42 (newlines become spaces)}]
}
