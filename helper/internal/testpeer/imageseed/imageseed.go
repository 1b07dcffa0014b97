// Package imageseed pushes a tiny, unique OCI image to a registry over the distribution API,
// so integration pipelines can deploy something real without docker. It is a test peer: the
// shipgate binary never imports it.
package imageseed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Push uploads an image whose single layer holds content to ref (host/repo:tag, plain HTTP,
// anonymous) and returns its manifest digest.
func Push(ctx context.Context, client *http.Client, ref, content string) (string, error) {
	host, repo, tag, err := split(ref)
	if err != nil {
		return "", err
	}
	base := "http://" + host + "/v2/" + repo
	layer := []byte(content)
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest(layer)}},
		"config": map[string]any{"Labels": map[string]string{"org.opencontainers.image.version": content}},
	})
	if err != nil {
		return "", err
	}
	for _, blob := range [][]byte{layer, config} {
		if err := upload(ctx, client, base, blob); err != nil {
			return "", err
		}
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}},
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/manifests/"+tag, bytes.NewReader(manifest))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	if err := do(client, req, http.StatusCreated); err != nil {
		return "", fmt.Errorf("putting manifest %s: %w", ref, err)
	}
	return digest(manifest), nil
}

func split(ref string) (host, repo, tag string, err error) {
	host, rest, ok := strings.Cut(ref, "/")
	i := strings.LastIndex(rest, ":")
	if !ok || i <= 0 || i == len(rest)-1 {
		return "", "", "", fmt.Errorf("reference %q is not host/repository:tag", ref)
	}
	return host, rest[:i], rest[i+1:], nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func upload(ctx context.Context, client *http.Client, base string, blob []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/blobs/uploads/", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("starting upload: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("starting upload: status %s", resp.Status)
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return fmt.Errorf("upload location: %w", err)
	}
	q := loc.Query()
	q.Set("digest", digest(blob))
	loc.RawQuery = q.Encode()
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), bytes.NewReader(blob))
	if err != nil {
		return err
	}
	put.Header.Set("Content-Type", "application/octet-stream")
	if err := do(client, put, http.StatusCreated); err != nil {
		return fmt.Errorf("uploading blob %s: %w", digest(blob), err)
	}
	return nil
}

func do(client *http.Client, req *http.Request, want int) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
