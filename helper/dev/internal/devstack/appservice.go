package devstack

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Labels the demo images carry; the stand-in service behaves as its deployed image says.
const (
	// VersionLabel is the OCI revision label: the commit the image was built from.
	VersionLabel = "org.opencontainers.image.revision"
	// BrokenLabel marks an image whose service fails its health endpoint ("true").
	BrokenLabel = "dev.shipgate.demo.broken"
)

// AppService stands in for a deployed application: it serves /version as the image deployed
// to it says. `kubectl set image` (stubbed) deploys an image by calling /-/deploy.
type AppService struct {
	Env string
	URL string

	server   *http.Server
	mu       sync.Mutex
	image    string
	version  string
	broken   bool
	requests int
}

func startAppService(env string) (*AppService, error) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &AppService{Env: env, URL: "http://" + listener.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", a.serveVersion)
	mux.HandleFunc("GET /healthz", a.serveVersion)
	mux.HandleFunc("POST /-/deploy", a.serveDeploy)
	mux.HandleFunc("GET /-/state", a.serveState)
	a.server = &http.Server{Handler: mux}
	go func() { _ = a.server.Serve(listener) }()
	return a, nil
}

func (a *AppService) serveVersion(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	w.Header().Set("Content-Type", "application/json")
	switch {
	case a.image == "":
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"error":"nothing deployed yet"}`)
	case a.broken:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":"panic: nil map assignment in handler","build":{"version":%q}}`+"\n", a.version)
	default:
		w.Header().Set("X-App-Version", a.version)
		fmt.Fprintf(w, `{"status":"ok","build":{"version":%q}}`+"\n", a.version)
	}
}

func (a *AppService) serveState(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"env": a.Env, "image": a.image, "version": a.version, "broken": a.broken})
}

// serveDeploy reads the image's config from the registry and starts "running" it.
func (a *AppService) serveDeploy(w http.ResponseWriter, r *http.Request) {
	image := strings.TrimSpace(r.URL.Query().Get("image"))
	ref, err := name.NewDigest(image, name.WeakValidation)
	if err != nil {
		http.Error(w, "deploy needs REPO@DIGEST: "+err.Error(), http.StatusBadRequest)
		return
	}
	img, err := remote.Image(ref, remote.WithContext(r.Context()))
	if err != nil {
		http.Error(w, "pulling "+image+": "+err.Error(), http.StatusBadGateway)
		return
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		http.Error(w, "reading config of "+image+": "+err.Error(), http.StatusBadGateway)
		return
	}
	a.mu.Lock()
	a.image, a.version, a.broken = image, cfg.Config.Labels[VersionLabel], cfg.Config.Labels[BrokenLabel] == "true"
	a.mu.Unlock()
	fmt.Fprintf(w, "deployment/app in %s now runs %s\n", a.Env, image)
}

// Deployed returns the image the service runs and its version.
func (a *AppService) Deployed() (image, version string, broken bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.image, a.version, a.broken
}

func (a *AppService) close() { _ = a.server.Close() }
