package gitops

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// overlay reads objects from mem, then base, and writes only to mem. It lets
// a Repo opened on a file:// URL read the remote's objects in place, lazily,
// while new objects stay in memory until they are pushed.
type overlay struct {
	mem  storer.EncodedObjectStorer
	base storer.EncodedObjectStorer
}

var _ storer.EncodedObjectStorer = overlay{}

func (o overlay) NewEncodedObject() plumbing.EncodedObject { return o.mem.NewEncodedObject() }

func (o overlay) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	return o.mem.SetEncodedObject(obj)
}

func (o overlay) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	obj, err := o.mem.EncodedObject(t, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return o.base.EncodedObject(t, h)
	}
	return obj, err
}

func (o overlay) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	a, err := o.mem.IterEncodedObjects(t)
	if err != nil {
		return nil, err
	}
	b, err := o.base.IterEncodedObjects(t)
	if err != nil {
		a.Close()
		return nil, err
	}
	return storer.NewMultiEncodedObjectIter([]storer.EncodedObjectIter{a, b}), nil
}

func (o overlay) HasEncodedObject(h plumbing.Hash) error {
	if err := o.mem.HasEncodedObject(h); err == nil {
		return nil
	}
	return o.base.HasEncodedObject(h)
}

func (o overlay) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	n, err := o.mem.EncodedObjectSize(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return o.base.EncodedObjectSize(h)
	}
	return n, err
}

func (o overlay) AddAlternate(string) error {
	return errors.New("alternates are not supported on an overlay")
}
