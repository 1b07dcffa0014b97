package promotion

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultProgressInterval is how often a long copy says how far it is: CircleCI ends a step
// after 10 minutes without output, and a CI log is read by people waiting for it (issue 18).
const DefaultProgressInterval = 30 * time.Second

// progress reports one destination's copy on a line-oriented stream (a CI log is not a
// terminal): what is copied, each blob and manifest as it finishes, a heartbeat with bytes and
// blobs done at least every interval, and a summary. A nil *progress reports nothing.
type progress struct {
	w        io.Writer
	what     string
	began    time.Time
	interval time.Duration

	totalBlobs int
	totalBytes int64
	moved      atomic.Int64 // blob bytes streamed so far

	mu                       sync.Mutex
	done                     int
	copied, mounted, present int
	manifests                int
	stop                     chan struct{}
	stopped                  sync.WaitGroup
}

func newProgress(w io.Writer, interval time.Duration, what string) *progress {
	if w == nil {
		return nil
	}
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	return &progress{w: w, what: what, began: time.Now(), interval: interval}
}

func (p *progress) printf(format string, args ...any) {
	fmt.Fprintf(p.w, "shipgate: "+format+"\n", args...)
}

// start announces the copy once its size is known and starts the heartbeat.
func (p *progress) start(g *sourceGraph, dryRun bool) {
	if p == nil || p.stop != nil {
		return
	}
	seen := map[v1.Hash]bool{}
	for _, img := range g.images() {
		blobs, _ := img.Blobs()
		for _, b := range blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				p.totalBlobs++
				p.totalBytes += b.Size
			}
		}
	}
	verb := "copying"
	if dryRun {
		verb = "planning"
	}
	p.printf("%s %s: %d blobs, %s", verb, p.what, p.totalBlobs, mib(p.totalBytes))
	p.stop = make(chan struct{})
	p.stopped.Add(1)
	go p.heartbeat()
}

func (p *progress) heartbeat() {
	defer p.stopped.Done()
	ticker := time.NewTicker(p.interval)
	defer ticker.Stop()
	last := int64(-1)
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
			moved := p.moved.Load()
			p.mu.Lock()
			done := p.done
			p.mu.Unlock()
			state := ""
			if moved == last {
				state = "; no bytes moved since the last report (waiting for a registry)"
			}
			last = moved
			p.printf("still copying %s: %d of %d blobs, %s of %s streamed, %s%s", p.what, done, p.totalBlobs,
				mib(moved), mib(p.totalBytes), seconds(time.Since(p.began)), state)
		}
	}
}

// blob reports one finished blob.
func (p *progress) blob(b v1.Descriptor, action string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.done++
	switch action {
	case BlobCopy:
		p.copied++
	case BlobMount:
		p.mounted++
	case BlobPresent:
		p.present++
	}
	done := p.done
	p.mu.Unlock()
	p.printf("blob %d/%d %s %s (%s)", done, p.totalBlobs, short(b.Digest), pastTense[action], mib(b.Size))
}

// manifest reports a manifest written under identifier.
func (p *progress) manifest(digest v1.Hash, identifier string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.manifests++
	p.mu.Unlock()
	if identifier == digest.String() {
		p.printf("manifest %s written", short(digest))
		return
	}
	p.printf("manifest %s written as %s", short(digest), identifier)
}

// counter counts streamed bytes into the heartbeat.
func (p *progress) counter() *atomic.Int64 {
	if p == nil {
		return nil
	}
	return &p.moved
}

// halt stops the heartbeat (also on a failure); it may be called more than once.
func (p *progress) halt() {
	if p == nil || p.stop == nil {
		return
	}
	close(p.stop)
	p.stopped.Wait()
	p.stop = nil
}

// finish stops the heartbeat and prints the summary.
func (p *progress) finish(dr *DestinationResult, dryRun bool) {
	if p == nil {
		return
	}
	p.halt()
	if dryRun {
		p.printf("planned %s: %d blobs (%d to copy, %d to mount, %d present), %s to copy, %s",
			p.what, p.done, p.copied, p.mounted, p.present, mib(dr.BytesToCopy), seconds(time.Since(p.began)))
		return
	}
	if dr.AlreadyPresent && p.done == 0 {
		p.printf("%s: already present; %d tags written, %s", p.what, len(dr.Tags), seconds(time.Since(p.began)))
		return
	}
	p.printf("promoted %s: %d blobs (%d copied, %d mounted, %d present), %s copied, %d manifests written, %s",
		p.what, p.done, p.copied, p.mounted, p.present, mib(dr.BytesCopied), p.manifests, seconds(time.Since(p.began)))
}

// syncWriter serialises writes, so concurrent progress lines never interleave.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// countingReader adds what passes through it to a progress counter.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

var pastTense = map[string]string{BlobCopy: "copied", BlobMount: "mounted", BlobPresent: "already present"}

// mib is a size for people: KiB below 1 MiB, MiB with one decimal above.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// short is a digest as people compare them: algorithm and the first 12 hex characters.
func short(d v1.Hash) string {
	if len(d.Hex) > 12 {
		return d.Algorithm + ":" + d.Hex[:12]
	}
	return d.String()
}
