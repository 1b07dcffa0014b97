package ledger

import "github.com/shipgate/shipgate/helper/internal/registry"

// RecordManifest encodes rec as the record artifact Append writes (without a subject), for
// tools that build a large ledger directly instead of through Append: the ledger cost bench
// seeds 100,000 tags this way. The empty blob it refers to must be present in the repository.
func RecordManifest(rec Record) (*registry.Manifest, error) { return recordManifest(rec, nil) }

// EmptyBlob is the OCI empty JSON blob ("{}") a record uses as config and layer: its digest and
// content.
func EmptyBlob() (digest string, content []byte) {
	return emptyDescriptor.Digest.String(), emptyDescriptor.Data
}
