package mem

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/softnet/softnet/internal/testenv"
)

// TestRecvCopiesInline checks the compiler inlines copy64 into Gen.Recv:
// a call per generated frame spills the loop's registers and costs the
// benchmark's generator (and so every Mpps figure measured through it) a
// few ns per packet.
func TestRecvCopiesInline(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goTool); err != nil {
		goTool = "go"
	}
	_, err := exec.LookPath(goTool)
	testenv.Need(t, err == nil, "needs the go command (to read the compiler's inlining decisions)")
	out, err := exec.Command(goTool, "build", "-gcflags=-m", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m: %v\n%s", err, out)
	}
	for _, want := range []string{"can inline copy64", "inlining call to copy64"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the compiler's -m output has no %q: copy64 is too big to inline (keep it eight word moves)", want)
		}
	}
}

// TestCopy64 copies every byte of a 64-byte frame and nothing around it.
func TestCopy64(t *testing.T) {
	var src, dst [80]byte
	for i := range src {
		src[i] = byte(i + 1)
	}
	copy64((*[64]byte)(dst[8:]), (*[64]byte)(src[8:]))
	for i := range dst {
		want := byte(0)
		if i >= 8 && i < 72 {
			want = src[i]
		}
		if dst[i] != want {
			t.Fatalf("byte %d: %d, want %d", i, dst[i], want)
		}
	}
}
