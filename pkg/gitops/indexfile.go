package gitops

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The git index file (Documentation/gitformat-index.txt), versions 2 and
// 3, parsed and written in one pass over bytes: go-git's codec reads and
// writes it field by field through reflection, which took 20 ms each way
// for the 17,000 entries of a 1,000-app env repo, most of a transition's
// time in a checkout. The codec gives what go-git's gives, byte for byte
// and field for field (TestIndexCodecMatchesGoGit); anything else, index
// version 4 and required extensions, is left to go-git's.

const (
	indexHeaderLen  = 12
	entryFixedLen   = 62 // ctime, mtime, dev, ino, mode, uid, gid, size, sha-1, flags
	indexTrailerLen = sha1.Size

	flagExtended     = 0x4000
	flagStageShift   = 12
	flagNameMask     = 0xfff
	extSkipWorktree  = 0x4000
	extIntentToAdd   = 0x2000
	maxIndexEntries  = 1 << 24
	maxIndexNameSize = 1 << 16
)

var errIndexFormat = errors.New("not a git index of version 2 or 3")

// parseIndex parses a version 2 or 3 index. Its optional extensions (the
// cached tree, resolve-undo, the untracked cache) are not kept: bgrender
// reads entries, and drops the cached tree it would invalidate when it
// writes. ok is false for an index it leaves to go-git: another version, or
// a required extension.
func parseIndex(b []byte) (idx *index.Index, ok bool, err error) {
	if len(b) < indexHeaderLen+indexTrailerLen || string(b[:4]) != "DIRC" {
		return nil, false, errIndexFormat
	}
	if sum := sha1.Sum(b[:len(b)-indexTrailerLen]); !bytes.Equal(sum[:], b[len(b)-indexTrailerLen:]) {
		return nil, false, errors.New("index checksum mismatch")
	}
	version := binary.BigEndian.Uint32(b[4:8])
	if version != 2 && version != 3 {
		return nil, false, nil
	}
	n := binary.BigEndian.Uint32(b[8:12])
	// Every entry takes at least 64 bytes: a count the file cannot hold
	// allocates nothing.
	if n > maxIndexEntries || int64(n)*64 > int64(len(b)) {
		return nil, false, fmt.Errorf("index of %d entries in %d bytes", n, len(b))
	}
	end := len(b) - indexTrailerLen
	idx = &index.Index{Version: version, Entries: make([]*index.Entry, 0, n)}
	entries := make([]index.Entry, n)
	off := indexHeaderLen
	for i := range entries {
		if off+entryFixedLen > end {
			return nil, false, errIndexFormat
		}
		p := b[off:]
		e := &entries[i]
		e.CreatedAt = indexTime(binary.BigEndian.Uint32(p[0:]), binary.BigEndian.Uint32(p[4:]))
		e.ModifiedAt = indexTime(binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint32(p[12:]))
		e.Dev = binary.BigEndian.Uint32(p[16:])
		e.Inode = binary.BigEndian.Uint32(p[20:])
		e.Mode = filemode.FileMode(binary.BigEndian.Uint32(p[24:]))
		e.UID = binary.BigEndian.Uint32(p[28:])
		e.GID = binary.BigEndian.Uint32(p[32:])
		e.Size = binary.BigEndian.Uint32(p[36:])
		copy(e.Hash[:], p[40:60])
		flags := binary.BigEndian.Uint16(p[60:])
		e.Stage = index.Stage(flags>>flagStageShift) & 0x3
		fixed := entryFixedLen
		if flags&flagExtended != 0 {
			if version < 3 || off+fixed+2 > end {
				return nil, false, errIndexFormat
			}
			ext := binary.BigEndian.Uint16(p[fixed:])
			e.SkipWorktree = ext&extSkipWorktree != 0
			e.IntentToAdd = ext&extIntentToAdd != 0
			fixed += 2
		}
		nameAt := off + fixed
		var nameLen int
		if l := int(flags & flagNameMask); l < flagNameMask {
			nameLen = l
		} else {
			// The length does not fit the flags: the name ends at its NUL.
			nul := bytes.IndexByte(b[nameAt:min(end, nameAt+maxIndexNameSize)], 0)
			if nul < 0 {
				return nil, false, errIndexFormat
			}
			nameLen = nul
		}
		if nameAt+nameLen >= end {
			return nil, false, errIndexFormat
		}
		e.Name = string(b[nameAt : nameAt+nameLen])
		// One to eight NULs pad the entry to a multiple of eight bytes.
		off += (fixed + nameLen + 8) &^ 7
		idx.Entries = append(idx.Entries, e)
	}
	for off < end {
		if off+8 > end {
			return nil, false, errIndexFormat
		}
		sig := b[off : off+4]
		size := int(binary.BigEndian.Uint32(b[off+4:]))
		if size < 0 || off+8+size > end {
			return nil, false, errIndexFormat
		}
		if sig[0] < 'A' || sig[0] > 'Z' {
			return nil, false, nil // a required extension (a split or sparse index)
		}
		off += 8 + size
	}
	return idx, true, nil
}

func indexTime(sec, nsec uint32) time.Time {
	if sec == 0 && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), int64(nsec))
}

// encodeIndex writes idx as a version 2 index (3 when an entry has
// extended flags), entries sorted by name, with no extension, as go-git's
// encoder does; ok is false for an index it leaves to go-git's (version 4).
func encodeIndex(idx *index.Index) (out []byte, ok bool, err error) {
	if idx.Version > 3 {
		return nil, false, nil
	}
	version := idx.Version
	if version < 2 {
		version = 2
	}
	for _, e := range idx.Entries {
		if e.SkipWorktree || e.IntentToAdd {
			version = 3
		}
	}
	sort.SliceStable(idx.Entries, func(i, j int) bool { return idx.Entries[i].Name < idx.Entries[j].Name })
	size := indexHeaderLen + indexTrailerLen
	for _, e := range idx.Entries {
		size += (entryFixedLen + 2 + len(e.Name) + 8) &^ 7
	}
	b := make([]byte, 0, size)
	b = append(b, "DIRC"...)
	b = binary.BigEndian.AppendUint32(b, version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(idx.Entries)))
	for _, e := range idx.Entries {
		start := len(b)
		for _, t := range []time.Time{e.CreatedAt, e.ModifiedAt} {
			sec, nsec, err := indexTimeFields(t)
			if err != nil {
				return nil, true, fmt.Errorf("index entry %s: %w", e.Name, err)
			}
			b = binary.BigEndian.AppendUint32(b, sec)
			b = binary.BigEndian.AppendUint32(b, nsec)
		}
		for _, v := range []uint32{e.Dev, e.Inode, uint32(e.Mode), e.UID, e.GID, e.Size} {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		b = append(b, e.Hash[:]...)
		flags := uint16(e.Stage&0x3) << flagStageShift
		flags |= uint16(min(len(e.Name), flagNameMask))
		if e.SkipWorktree || e.IntentToAdd {
			var ext uint16
			if e.SkipWorktree {
				ext |= extSkipWorktree
			}
			if e.IntentToAdd {
				ext |= extIntentToAdd
			}
			b = binary.BigEndian.AppendUint16(b, flags|flagExtended)
			b = binary.BigEndian.AppendUint16(b, ext)
		} else {
			b = binary.BigEndian.AppendUint16(b, flags)
		}
		b = append(b, e.Name...)
		wrote := len(b) - start
		b = append(b, make([]byte, 8-wrote%8)...)
	}
	sum := sha1.Sum(b)
	return append(b, sum[:]...), true, nil
}

func indexTimeFields(t time.Time) (uint32, uint32, error) {
	if t.IsZero() {
		return 0, 0, nil
	}
	if t.Unix() < 0 || t.UnixNano() < 0 {
		return 0, 0, index.ErrInvalidTimestamp
	}
	return uint32(t.Unix()), uint32(t.Nanosecond()), nil
}

// decodeIndexBytes parses an index file's bytes: the one-pass parser, or
// go-git's decoder for what the parser leaves to it.
func decodeIndexBytes(b []byte) (*index.Index, error) {
	idx, ok, err := parseIndex(b)
	if err != nil || ok {
		return idx, err
	}
	idx = &index.Index{}
	if err := index.NewDecoder(bytes.NewReader(b)).Decode(idx); err != nil {
		return nil, err
	}
	return idx, nil
}

// encodeIndexBytes is encodeIndex, or go-git's encoder for what it leaves
// to it.
func encodeIndexBytes(idx *index.Index) ([]byte, error) {
	out, ok, err := encodeIndex(idx)
	if ok {
		return out, err
	}
	var buf bytes.Buffer
	if err := index.NewEncoder(&buf).Encode(idx); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
