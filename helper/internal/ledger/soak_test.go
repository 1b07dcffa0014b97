package ledger_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/faultproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// The soak's knobs, from the environment so `make soak` can run it longer:
//
//	SHIPGATE_SOAK_ITERATIONS  iterations (each: one promotion, one ledger write, one rollback
//	                          resolution); default 120
//	SHIPGATE_SOAK_RATE        share of requests that meet a fault; default 0.15
//	SHIPGATE_SOAK_SEED        the fault proxies' seed; default 1
//	SHIPGATE_SOAK_TIME        stop starting iterations after this long; default 75s
//	SHIPGATE_SOAK_REPORT      write the figures as Markdown to this file
type soakConfig struct {
	iterations int
	rate       float64
	seed       uint64
	budget     time.Duration
	report     string
}

func soakConfigFromEnv(t *testing.T) soakConfig {
	c := soakConfig{iterations: 120, rate: 0.15, seed: 1, budget: 75 * time.Second, report: os.Getenv("SHIPGATE_SOAK_REPORT")}
	var err error
	if v := os.Getenv("SHIPGATE_SOAK_ITERATIONS"); v != "" {
		if c.iterations, err = strconv.Atoi(v); err != nil {
			t.Fatalf("SHIPGATE_SOAK_ITERATIONS: %v", err)
		}
	}
	if v := os.Getenv("SHIPGATE_SOAK_RATE"); v != "" {
		if c.rate, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("SHIPGATE_SOAK_RATE: %v", err)
		}
	}
	if v := os.Getenv("SHIPGATE_SOAK_SEED"); v != "" {
		if c.seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("SHIPGATE_SOAK_SEED: %v", err)
		}
	}
	if v := os.Getenv("SHIPGATE_SOAK_TIME"); v != "" {
		if c.budget, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SHIPGATE_SOAK_TIME: %v", err)
		}
	}
	return c
}

// soakRetry is the default policy with its waits shortened (Retry-After included, capped by
// Max) and a stall watchdog short enough that injected stalls cost little time.
var soakRetry = registry.RetryPolicy{Attempts: 4, Initial: 2 * time.Millisecond, Max: 10 * time.Millisecond,
	Budget: 2 * time.Second, StallTimeout: 150 * time.Millisecond}

// contentAddressed is a response a client can verify: a blob, or a manifest.
func contentAddressed(r *http.Request) bool {
	return r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/blobs/sha256:") || strings.Contains(r.URL.Path, "/manifests/"))
}

// opStats are the figures of one kind of operation.
type opStats struct {
	ops, ok, failed int
	kinds           map[failure.Kind]int
	injected        map[faultproxy.Fault]int64 // faults met by operations of this kind
	inOK, inFailed  map[faultproxy.Fault]int64 // ... by those that succeeded / failed cleanly
	worst, total    time.Duration
	// noTarget counts answers "no rollback target" that the fault-free ledger agrees with;
	// refusedBad counts writes refused because the digest is marked bad (the right answer).
	noTarget   int
	refusedBad int
	violations int
}

func newOpStats() *opStats {
	return &opStats{kinds: map[failure.Kind]int{}, injected: map[faultproxy.Fault]int64{},
		inOK: map[faultproxy.Fault]int64{}, inFailed: map[faultproxy.Fault]int64{}}
}

type soak struct {
	t            *testing.T
	src, dst     *registryserver.Server
	proxies      []*faultproxy.Proxy
	srcRepo      registry.Repository // through the fault proxy
	dstRepo      registry.Repository // through the fault proxy
	faulty       *ledger.Ledger
	direct       *ledger.Ledger // the same ledger read without faults, as the reference
	client       *registry.Client
	stats        map[string]*opStats
	order        []string
	violations   []string
	current      string             // the operation being run or checked, for attributing violations
	appended     map[string]v1.Hash // entry tag -> digest, for every Append that succeeded
	bad          map[v1.Hash]bool   // digests whose bad entry was written
	committedErr int                // Appends that failed although their entry was written
}

func (s *soak) faultCounts() map[faultproxy.Fault]int64 {
	out := map[faultproxy.Fault]int64{}
	for _, p := range s.proxies {
		for f, n := range p.ByFault() {
			out[f] += n
		}
	}
	return out
}

// run times one operation, attributes the faults injected meanwhile to it (operations run one
// at a time), and checks its error is a clean, classified one.
func (s *soak) run(op string, fn func(ctx context.Context) error) error {
	st := s.stats[op]
	if st == nil {
		st = newOpStats()
		s.stats[op] = st
		s.order = append(s.order, op)
	}
	s.current = op
	before := s.faultCounts()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := fn(ctx)
	elapsed := time.Since(start)
	st.ops++
	st.total += elapsed
	st.worst = max(st.worst, elapsed)
	met := s.faultCounts()
	for f, n := range met {
		d := n - before[f]
		if d == 0 {
			continue
		}
		st.injected[f] += d
		if err == nil {
			st.inOK[f] += d
		} else {
			st.inFailed[f] += d
		}
	}
	if err == nil {
		st.ok++
		return nil
	}
	st.failed++
	kind := failure.KindOf(err)
	st.kinds[kind]++
	msg := err.Error()
	switch {
	case kind == failure.Internal:
		s.violate("%s failed with an unclassified error: %v", op, err)
	case msg == "" || strings.Contains(msg, "_state="):
		s.violate("%s failed with an unclear or leaky message: %q", op, msg)
	case ctx.Err() != nil:
		s.violate("%s hit the one-minute operation deadline: %v", op, err)
	}
	return err
}

func (s *soak) violate(format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
	if st := s.stats[s.current]; st != nil {
		st.violations++
	}
	s.t.Errorf(format, args...)
}

// head reads ref directly from a registry, bypassing the fault proxies and shipgate.
func head(ref string) (v1.Hash, bool) {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return v1.Hash{}, false
	}
	desc, err := remote.Head(r)
	if err != nil {
		return v1.Hash{}, false
	}
	return desc.Digest, true
}

// complete reports whether the image behind ref has its manifest and every blob, read
// directly from the registry.
func complete(server *registryserver.Server, path, ref string) bool {
	r, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return false
	}
	img, err := remote.Image(r)
	if err != nil {
		return false
	}
	m, err := img.Manifest()
	if err != nil {
		return false
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	for _, b := range blobs {
		resp, err := http.Head(server.URL + "/v2/" + path + "/blobs/" + b.Digest.String())
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}

func TestSoakUnderFaults(t *testing.T) {
	cfg := soakConfigFromEnv(t)
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	var proxies []*faultproxy.Proxy
	for i, server := range []*registryserver.Server{src, dst} {
		proxies = append(proxies, faultproxy.StartT(t, faultproxy.Options{
			Target: server.URL, Rate: cfg.rate, Seed: cfg.seed + uint64(i),
			TamperEligible: contentAddressed, Stall: 2 * time.Second, RetryAfter: 1,
		}))
	}
	client := registry.New(registry.Options{Retry: soakRetry})
	sts := newSoakSTS(t, cfg)
	proxies = append(proxies, sts.proxy)
	dstRepo := registry.Repository{Registry: proxies[1].Host, Path: "prod/app"}
	s := &soak{
		t: t, src: src, dst: dst, proxies: proxies, client: client,
		srcRepo:  registry.Repository{Registry: proxies[0].Host, Path: "build/app"},
		dstRepo:  dstRepo,
		faulty:   ledger.New(client, dstRepo),
		direct:   ledger.New(registry.New(registry.Options{}), registry.Repository{Registry: dst.Host, Path: "prod/app"}),
		stats:    map[string]*opStats{},
		appended: map[string]v1.Hash{},
		bad:      map[v1.Hash]bool{},
	}
	const env = "production"
	statuses := []ledger.Status{ledger.Deploying, ledger.Deployed, ledger.Good, ledger.Good}
	started := time.Now()
	iterations := 0
	var lastPromoted v1.Hash
	for i := 0; i < cfg.iterations && time.Since(started) < cfg.budget; i++ {
		iterations++
		// A fresh build each time (pushed directly), so every promotion streams blobs across
		// registries through both proxies.
		digest := testimage.Image(t, src.Repo(fmt.Sprintf("build/app:b%d", i)), 2)
		tag := fmt.Sprintf("r%d", i)

		err := s.run("promote", func(ctx context.Context) error {
			_, err := promotion.Promote(ctx, client, promotion.Options{
				Source:       registry.Reference{Repository: s.srcRepo, Digest: digest},
				Destinations: []registry.Repository{dstRepo},
				Tags:         []string{tag},
			})
			return err
		})
		direct := dst.Repo("prod/app")
		if err == nil {
			lastPromoted = digest
			if got, ok := head(direct + "@" + digest.String()); !ok || got != digest {
				s.violate("promotion %d succeeded but the destination does not hold %s", i, digest)
			}
			if got, ok := head(direct + ":" + tag); !ok || got != digest {
				s.violate("promotion %d succeeded but tag %s is %s (present %v), want %s", i, tag, got, ok, digest)
			}
		} else if got, ok := head(direct + ":" + tag); ok && (got != digest || !complete(dst, "prod/app", direct+":"+tag)) {
			s.violate("promotion %d failed (%v) and left tag %s on an incomplete or wrong image %s", i, err, tag, got)
		}

		if lastPromoted.Hex != "" {
			status := statuses[i%len(statuses)]
			if i%10 == 9 {
				status = ledger.Bad
			}
			mark := ledger.Mark{Env: env, Digest: lastPromoted, Status: status,
				Record: ledger.Record{Source: ledger.Source{Commit: fmt.Sprintf("%040x", i)}, Reason: "soak"}}
			tagsBefore := s.directTags()
			var written *ledger.Written
			err := s.run("ledger append", func(ctx context.Context) error {
				w, err := s.faulty.Append(ctx, mark)
				written = w
				if failure.KindOf(err) == failure.Safety && s.bad[mark.Digest] && mark.Status != ledger.Bad {
					// The last promotion failed, so this write is for the digest just marked bad:
					// refusing it is the right answer.
					s.stats["ledger append"].refusedBad++
					return nil
				}
				return err
			})
			if err == nil && written == nil {
				// Refused: marked bad.
			} else if err == nil {
				if status == ledger.Bad {
					s.bad[lastPromoted] = true
				}
				s.appended[written.Tag] = lastPromoted
				if got, ok := head(direct + ":" + written.Tag); !ok || got != lastPromoted {
					s.violate("append %s succeeded but the entry is %s (present %v)", written.Tag, got, ok)
				}
			} else if failure.KindOf(err) != failure.Safety || status == ledger.Bad {
				for tagName := range s.newEntries(tagsBefore) {
					s.committedErr++
					s.appended[tagName] = lastPromoted
				}
			}
		}

		var want *ledger.Rollback
		wantErr := func() error {
			var err error
			want, err = s.direct.RollbackTarget(context.Background(), ledger.RollbackQuery{Env: env})
			return err
		}()
		var got *ledger.Rollback
		err = s.run("rollback resolution", func(ctx context.Context) error {
			var err error
			got, err = s.faulty.RollbackTarget(ctx, ledger.RollbackQuery{Env: env})
			if failure.KindOf(err) == failure.NotFound && failure.KindOf(wantErr) == failure.NotFound {
				// "No rollback target yet" is the right answer here.
				s.stats["rollback resolution"].noTarget++
				return nil
			}
			return err
		})
		switch {
		case err == nil && got == nil:
			// No target, and the fault-free ledger agrees.
		case err == nil && wantErr != nil:
			s.violate("rollback %d chose %s where the fault-free ledger says: %v", i, got.Target.Digest, wantErr)
		case err == nil && got.Target.Digest != want.Target.Digest:
			s.violate("rollback %d chose %s, want %s", i, got.Target.Digest, want.Target.Digest)
		case err == nil && !s.knownGood(env, got.Target.Digest):
			s.violate("rollback %d chose %s, which is not a known-good digest", i, got.Target.Digest)
		case err != nil && failure.KindOf(err) == failure.NotFound && failure.KindOf(wantErr) != failure.NotFound:
			s.violate("rollback %d found no target under faults (%v); the fault-free ledger chose one", i, err)
		}

		// The deploy job's credentials: an OIDC token exchanged at STS through a fault proxy.
		var res *awsrole.Result
		if err := s.run("STS exchange", func(ctx context.Context) error {
			var err error
			res, err = awsrole.Assume(ctx, sts.options())
			return err
		}); err == nil && !sts.issued(res.Credentials) {
			s.violate("STS exchange %d returned credentials the emulator never issued", i)
		}
	}

	// No entry lost: every Append that succeeded has its tag, on its digest.
	s.current = "ledger append"
	tags := s.directTags()
	lost := 0
	for tagName, digest := range s.appended {
		if !tags[tagName] {
			lost++
			s.violate("ledger entry %s lost", tagName)
			continue
		}
		if got, ok := head(dst.Repo("prod/app") + ":" + tagName); !ok || got != digest {
			s.violate("ledger entry %s points at %s, want %s", tagName, got, digest)
		}
	}
	report := s.report(cfg, iterations, time.Since(started), lost)
	t.Log("\n" + report)
	if cfg.report != "" {
		if err := os.WriteFile(cfg.report, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if injected := s.faultCounts(); len(injected) < len(faultproxy.All) {
		t.Errorf("only %d of %d fault kinds were injected (%v): raise the iterations or the rate", len(injected), len(faultproxy.All), injected)
	}
}

// directTags lists the destination's tags directly from the registry.
func (s *soak) directTags() map[string]bool {
	repo, err := name.NewRepository(s.dst.Repo("prod/app"), name.WeakValidation)
	if err != nil {
		s.t.Fatal(err)
	}
	list, err := remote.List(repo)
	if err != nil {
		return map[string]bool{}
	}
	out := map[string]bool{}
	for _, tag := range list {
		out[tag] = true
	}
	return out
}

func (s *soak) newEntries(before map[string]bool) map[string]bool {
	out := map[string]bool{}
	for tag := range s.directTags() {
		if _, ok := ledger.ParseTag(tag); ok && !before[tag] {
			out[tag] = true
		}
	}
	return out
}

// knownGood reports whether the registry, read directly, holds a good entry for digest in env
// and no bad marker.
func (s *soak) knownGood(env string, digest v1.Hash) bool {
	direct := s.dst.Repo("prod/app")
	if got, ok := head(direct + ":" + ledger.BadMarkerTag(env, digest)); ok && got == digest {
		return false
	}
	for tag := range s.directTags() {
		e, ok := ledger.ParseTag(tag)
		if !ok || e.Env != env || e.Status != ledger.Good {
			continue
		}
		if got, ok := head(direct + ":" + tag); ok && got == digest {
			return true
		}
	}
	return false
}

func (s *soak) report(cfg soakConfig, iterations int, elapsed time.Duration, lost int) string {
	var b strings.Builder
	requests := int64(0)
	for _, p := range s.proxies {
		requests += p.Requests()
	}
	injected := s.faultCounts()
	total := int64(0)
	for _, n := range injected {
		total += n
	}
	fmt.Fprintf(&b, "Soak: %d iterations, fault rate %.2f, seed %d, %d requests through the fault proxies, %d faults injected, %s.\n\n",
		iterations, cfg.rate, cfg.seed, requests, total, elapsed.Round(time.Second))
	b.WriteString("| operation | runs | succeeded (verified) | failed cleanly | violations | failure classes | worst time | mean time |\n|---|---|---|---|---|---|---|---|\n")
	for _, op := range s.order {
		st := s.stats[op]
		var kinds []string
		for k, n := range st.kinds {
			kinds = append(kinds, fmt.Sprintf("%s (exit %d): %d", k, int(k), n))
		}
		sort.Strings(kinds)
		okText := strconv.Itoa(st.ok)
		if st.noTarget > 0 {
			okText += fmt.Sprintf(" (%d of them: no target yet, as without faults)", st.noTarget)
		}
		if st.refusedBad > 0 {
			okText += fmt.Sprintf(" (%d of them: refused, the digest is marked bad)", st.refusedBad)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %d | %s | %s | %s |\n", op, st.ops, okText, st.failed, st.violations,
			orDash(strings.Join(kinds, ", ")), st.worst.Round(time.Millisecond), (st.total / time.Duration(max(st.ops, 1))).Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "\nViolations of an invariant: %d. Ledger entries lost: %d of %d written (%d of them by an Append that reported a failure after its entry was committed).\n\n",
		len(s.violations), lost, len(s.appended), s.committedErr)
	b.WriteString("Faults per kind and operation: injected / met by operations that succeeded / met by operations that failed cleanly.\n\n")
	b.WriteString("| fault |")
	for _, op := range s.order {
		b.WriteString(" " + op + " |")
	}
	b.WriteString(" total |\n|---|")
	for range s.order {
		b.WriteString("---|")
	}
	b.WriteString("---|\n")
	for _, f := range faultproxy.All {
		fmt.Fprintf(&b, "| %s |", f)
		for _, op := range s.order {
			st := s.stats[op]
			fmt.Fprintf(&b, " %d / %d / %d |", st.injected[f], st.inOK[f], st.inFailed[f])
		}
		fmt.Fprintf(&b, " %d |\n", injected[f])
	}
	var fresh, reused int64
	for _, p := range s.proxies {
		counts := p.Counts()
		for _, f := range []faultproxy.Fault{faultproxy.ResetBeforeHeaders, faultproxy.ResetAfterHeaders} {
			fresh += counts[faultproxy.Key{Fault: f}]
			reused += counts[faultproxy.Key{Fault: f, Reused: true}]
		}
	}
	fmt.Fprintf(&b, "\nConnection resets by connection: %d on fresh connections, %d on reused (kept-alive) ones.\n", fresh, reused)
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// soakSTS is an OIDC issuer and an STS emulator that trusts it, behind a fault proxy.
type soakSTS struct {
	t      *testing.T
	issuer *oidcissuer.Issuer
	emu    *stsemulator.Emulator
	proxy  *faultproxy.Proxy
}

const (
	soakOrg  = "9c1e5a22-0000-4000-8000-00000000c0de"
	soakRole = "arn:aws:iam::123456789012:role/deploy"
)

func newSoakSTS(t *testing.T, cfg soakConfig) *soakSTS {
	issuer, err := oidcissuer.New(soakOrg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	emu := stsemulator.New()
	t.Cleanup(emu.Close)
	emu.AddProvider(stsemulator.Provider{IssuerURL: issuer.URL, ClientIDs: []string{soakOrg}})
	emu.AddRole(stsemulator.Role{ARN: soakRole, Federated: issuer.URL, Aud: soakOrg,
		SubLike: []string{"org/" + soakOrg + "/project/*"}})
	proxy := faultproxy.StartT(t, faultproxy.Options{Target: emu.URL, Rate: cfg.rate, Seed: cfg.seed + 2, Stall: 2 * time.Second, RetryAfter: 1})
	return &soakSTS{t: t, issuer: issuer, emu: emu, proxy: proxy}
}

func (s *soakSTS) options() awsrole.Options {
	token, err := s.issuer.Mint(oidcissuer.Token{})
	if err != nil {
		s.t.Fatal(err)
	}
	return awsrole.Options{
		RoleARN: soakRole, Region: "us-east-1", SessionName: "soak", Endpoint: s.proxy.URL,
		Token: soakToken(token),
		// The default policy's attempts with short waits; a per-request bound ends stalls.
		Retry:      awsrole.Retry{Attempts: awsrole.DefaultRetry.Attempts, Base: 2 * time.Millisecond, Max: 10 * time.Millisecond},
		HTTPClient: &http.Client{Timeout: 150 * time.Millisecond},
	}
}

func (s *soakSTS) issued(c awsrole.Credentials) bool {
	for _, session := range s.emu.Sessions() {
		if session.AccessKeyID == c.AccessKeyID && session.SecretAccessKey == c.SecretAccessKey && session.SessionToken == c.SessionToken {
			return true
		}
	}
	return false
}

// soakToken is a token source holding one token.
type soakToken string

func (t soakToken) Token(context.Context) (string, error) { return string(t), nil }
func (t soakToken) Describe() string                      { return "a soak token" }
