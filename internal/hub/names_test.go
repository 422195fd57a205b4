package hub

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/distribution/reference"
)

// anchoredName is distribution/reference's own grammar of a name.
var anchoredName = regexp.MustCompile(`^(?:` + reference.NameRegexp.String() + `)$`)

// byReference is what distribution/reference says of a path on Docker Hub.
func byReference(path string) bool {
	return len(path) <= MaxNameLength && anchoredName.MatchString("docker.io/"+path)
}

func TestValidPathAgreesWithReference(t *testing.T) {
	t.Parallel()
	fixed := []string{
		"", "a", "library/alpine", "acme/app", "a.b", "a..b", "a__b", "a___b", "a---b", "a-", "-a", "_a", "a_", ".a",
		"a/", "/a", "a//b", "A", "acme/App", "a/b/c/d", "a%2Fb", "a:b", "a@b", "a b", "ümlaut", "0", "a.b.c/d-e_f__g",
		"acme/app/", "acme/*",
	}
	for _, s := range fixed {
		if got, want := ValidPath(s), byReference(s); got != want {
			t.Errorf("ValidPath(%q) = %v, distribution/reference says %v", s, got, want)
		}
	}
	const alphabet = "ab09._-/A:%@ "
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(b)
		if got, want := ValidPath(s), byReference(s); got != want {
			t.Fatalf("ValidPath(%q) = %v, distribution/reference says %v", s, got, want)
		}
	}
}

func FuzzValidPath(f *testing.F) {
	for _, s := range []string{"library/alpine", "a__b/c-d", "a..b", "acme/app%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidPath(s), byReference(s); got != want {
			t.Fatalf("ValidPath(%q) = %v, distribution/reference says %v", s, got, want)
		}
	})
}

func BenchmarkValidPath(b *testing.B) {
	for b.Loop() {
		if !ValidPath("acme/some-service.api__v2") {
			b.Fatal("invalid")
		}
	}
}
