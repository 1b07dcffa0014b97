package ledger

import (
	"bytes"
	"encoding/json"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/artifact"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// RecordArtifactType identifies shipgate's ledger records. Promotion never copies artifacts of
// this type: a record belongs to one repository's environment.
const RecordArtifactType = "application/vnd.shipgate.ledger.record.v1+json"

// recordAnnotation holds the record's JSON in the record manifest, so one manifest read
// returns the whole record.
const recordAnnotation = "dev.shipgate.ledger.record"

// emptyDescriptor is the OCI empty JSON blob "{}" (image-spec 1.1 guidance for artifacts).
var emptyDescriptor = v1.Descriptor{
	MediaType: "application/vnd.oci.empty.v1+json",
	Digest:    v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
	Size:      2,
	Data:      []byte("{}"),
}

// recordConfig is the empty blob typed as a record: besides artifactType, the config's media
// type says what the artifact is, because some registries (go-containerregistry's own, older
// ones) report a referrer's type from its config alone. Promotion must recognise records
// everywhere to leave them out.
var recordConfig = v1.Descriptor{MediaType: RecordArtifactType, Digest: emptyDescriptor.Digest, Size: emptyDescriptor.Size}

// Record is the rich account of one entry: who, what, when and why.
type Record struct {
	SchemaVersion int    `json:"schemaVersion"`
	Env           string `json:"env"`
	Status        Status `json:"status"`
	Repository    string `json:"repository"`
	Digest        string `json:"digest"`
	// Time is the entry's registry time (RFC 3339).
	Time   string `json:"time"`
	Reason string `json:"reason,omitempty"`
	// Version is the release's version: the commit it was built from (SHIPGATE_VERSION).
	Version string `json:"version,omitempty"`
	// Source is where the release was built from (from release.json).
	Source Source `json:"source"`
	// MarkedBy is the CircleCI job that wrote the entry.
	MarkedBy Pipeline `json:"markedBy"`
	// RollbackFrom is the digest a rollback replaced.
	RollbackFrom string `json:"rollbackFrom,omitempty"`
	Tool         string `json:"tool,omitempty"`
}

// Source is the source a release was built from.
type Source struct {
	Commit   string   `json:"commit,omitempty"`
	Tree     string   `json:"tree,omitempty"`
	Branch   string   `json:"branch,omitempty"`
	Tag      string   `json:"tag,omitempty"`
	Pipeline Pipeline `json:"pipeline"`
}

// Pipeline is a CircleCI context, as release.json records it.
type Pipeline = artifact.Pipeline

// recordManifest builds the record artifact: an OCI image manifest with the empty config and
// layer, the record in an annotation, and a subject only when the registry has the referrers
// API (shipgate never maintains the shared fallback tag instead).
func recordManifest(rec Record, subject *v1.Descriptor) (*registry.Manifest, error) {
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "encoding ledger record")
	}
	type manifest struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     types.MediaType   `json:"mediaType"`
		ArtifactType  string            `json:"artifactType"`
		Config        v1.Descriptor     `json:"config"`
		Layers        []v1.Descriptor   `json:"layers"`
		Subject       *v1.Descriptor    `json:"subject,omitempty"`
		Annotations   map[string]string `json:"annotations"`
	}
	data, err := json.Marshal(manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: RecordArtifactType,
		Config: recordConfig, Layers: []v1.Descriptor{emptyDescriptor}, Subject: subject,
		Annotations: map[string]string{recordAnnotation: string(recJSON), "org.opencontainers.image.created": rec.Time},
	})
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "encoding ledger record manifest")
	}
	digest, _, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return &registry.Manifest{Bytes: data, MediaType: types.OCIManifestSchema1, Digest: digest}, nil
}

// parseRecord reads a record back from its manifest.
func parseRecord(m *registry.Manifest) (*Record, error) {
	var probe struct {
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(m.Bytes, &probe); err != nil || probe.ArtifactType != RecordArtifactType {
		return nil, failure.New(failure.Safety, "manifest %s is not a shipgate ledger record", m.Digest)
	}
	var rec Record
	if err := json.Unmarshal([]byte(probe.Annotations[recordAnnotation]), &rec); err != nil {
		return nil, failure.Wrap(failure.Safety, err, "decoding ledger record %s", m.Digest)
	}
	return &rec, nil
}
