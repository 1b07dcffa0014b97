// Package testimage pushes synthetic images and indexes to a test registry with
// go-containerregistry's own writer, so shipgate's code is checked against an independent
// implementation of the protocol.
package testimage

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image pushes a random image with the given number of layers (plus its config blob) to ref
// (a tag reference, e.g. 127.0.0.1:PORT/app:build) and returns its digest.
func Image(t testing.TB, ref string, layers int, opts ...remote.Option) v1.Hash {
	t.Helper()
	img, err := random.Image(256, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return Write(t, ref, img, opts...)
}

// Write pushes img to ref and returns its digest.
func Write(t testing.TB, ref string, img v1.Image, opts ...remote.Option) v1.Hash {
	t.Helper()
	tag, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// Index pushes a multi-platform OCI index of `platforms` random images, each with `layers`
// layers, and returns its digest.
func Index(t testing.TB, ref string, platforms, layers int, opts ...remote.Option) v1.Hash {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	arches := []string{"amd64", "arm64", "s390x", "ppc64le", "riscv64"}
	for i := 0; i < platforms; i++ {
		img, err := random.Image(256, int64(layers))
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arches[i%len(arches)]}},
		})
	}
	tag, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx, opts...); err != nil {
		t.Fatalf("pushing index %s: %v", ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest
}

// Digest reads ref's digest independently of shipgate (a HEAD through go-containerregistry).
func Digest(t testing.TB, ref string, opts ...remote.Option) (v1.Hash, bool) {
	t.Helper()
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r, opts...)
	if err != nil {
		return v1.Hash{}, false
	}
	return desc.Digest, true
}
