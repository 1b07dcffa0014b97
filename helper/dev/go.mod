// shipgate's dev tooling: the local CircleCI runner (circlerun), the demo and end-to-end world
// (devstack), the orb tools (pack, validate, review, release hashes), the benches. A module of its
// own so the shipped module's go.mod lists only what the shipgate binary needs; it imports the
// shipped module's internal packages (its path lies under helper/), through the replace below.
module github.com/shipgate/shipgate/helper/dev

go 1.26.0

require (
	github.com/google/go-containerregistry v0.22.1
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/shipgate/shipgate v0.0.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/docker/cli v29.7.2+incompatible // indirect
	github.com/docker/docker-credential-helpers v0.9.5 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/sirupsen/logrus v1.10.2 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
)

replace github.com/shipgate/shipgate => ../..
