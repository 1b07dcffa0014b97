package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The tools each executor image ships, as far as the examples use them. A stub is on a job's
// PATH only where the real tool would be, so an example that calls a CLI its image lacks fails
// here with 127 as it would on CircleCI (issue 16 point 5).
//
//   - cimg/base (and cimg/deploy, built on it): docker, curl, jq, git; not kubectl, aws, gcloud,
//     helm (FACTS.md, "Learned from third-party software"). docker and the CircleCI CLI
//     (`circleci`, present in every job) are BaseStubs, on every job's PATH.
//   - cimg/deploy:2026.10 adds kubectl (v1.29 apt repository), helm, terraform, packer, ansible,
//     salt and nfpm; not aws nor gcloud (CircleCI-Public/cimg-deploy, 2026.10/Dockerfile).
//   - Machine images: treated like cimg/base here (the examples install what else they need).
var imageTools = map[string][]string{
	"cimg/deploy": {"kubectl", "helm"},
}

// ToolStoreEnv names the folder the stand-in orbs install CLIs from.
const ToolStoreEnv = "SHIPGATE_DEVSTACK_TOOL_STORE"

// standInOrbs are local stand-ins for the official orbs the examples install CLIs with: the same
// orb and command names and the parameters the examples pass, each installing the CLI onto PATH
// (from the tool store instead of the internet). Sources: CircleCI-Public/aws-cli-orb
// src/commands/install.yml (version, install_dir, binary_dir: /usr/local/bin),
// CircleCI-Public/gcp-cli-orb src/commands/install.yml, CircleCI-Public/kubernetes-orb
// src/commands/install_kubectl.yml (kubectl_version).
var standInOrbs = map[string]string{
	"circleci/aws-cli":    standInOrb("circleci/aws-cli", "install", "aws", "version"),
	"circleci/gcp-cli":    standInOrb("circleci/gcp-cli", "install", "gcloud", "version"),
	"circleci/kubernetes": standInOrb("circleci/kubernetes", "install_kubectl", "kubectl", "kubectl_version"),
}

func standInOrb(name, command, tool, versionParam string) string {
	return fmt.Sprintf(`version: 2.1
description: Local stand-in for %[1]s (shipgate devstack), installing %[3]s onto PATH.
commands:
    %[2]s:
        description: Installs %[3]s (the local stub) where later steps find it.
        parameters:
            %[4]s:
                default: latest
                description: Ignored by the stand-in.
                type: string
        steps:
            - run:
                command: |
                    mkdir -p "${HOME}/.local/orb-tools"
                    cp "${%[5]s:?not a devstack run}/%[3]s" "${HOME}/.local/orb-tools/%[3]s"
                    echo 'export PATH="${HOME}/.local/orb-tools:${PATH}"' >> "${BASH_ENV}"
                name: Install %[3]s (%[1]s, local stand-in)
`, name, command, tool, versionParam, ToolStoreEnv)
}

func (w *World) toolStore() string { return filepath.Join(w.Dir, "tools", "store") }

func (w *World) imageDir(image string) string {
	return filepath.Join(w.Dir, "tools", "images", strings.ReplaceAll(image, "/", "-"))
}

// writeTools writes the installable stubs into the tool store, each image's stubs into a folder
// of its own, and the stand-in orbs.
func (w *World) writeTools(self string) error {
	if err := WriteStubs(w.toolStore(), self, InstallableStubs...); err != nil {
		return err
	}
	for image, tools := range imageTools {
		if err := WriteStubs(w.imageDir(image), self, tools...); err != nil {
			return err
		}
	}
	dir := filepath.Join(w.Dir, "tools", "orbs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, text := range standInOrbs {
		if err := os.WriteFile(filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".yml"), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// imagePath is the local runner's ImagePath: the stubs of what the job's image ships.
func (w *World) imagePath(image string) []string {
	name, _, _ := strings.Cut(image, ":")
	if _, ok := imageTools[name]; ok {
		return []string{w.imageDir(name)}
	}
	return nil
}

// Orbs maps every orb an example may import to its file: the packed shipgate orb and the
// stand-ins of the official orbs.
func (w *World) Orbs() map[string]string {
	orbs := map[string]string{"shipgate/shipgate": w.OrbFile}
	for name := range standInOrbs {
		orbs[name] = filepath.Join(w.Dir, "tools", "orbs", strings.ReplaceAll(name, "/", "-")+".yml")
	}
	return orbs
}

// StandInOrbs writes the stand-in orbs into dir and returns the map the local runner takes (the
// orb checks compile the packed examples with them).
func StandInOrbs(dir string) (map[string]string, error) {
	orbs := map[string]string{}
	names := make([]string, 0, len(standInOrbs))
	for name := range standInOrbs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		file := filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".yml")
		if err := os.WriteFile(file, []byte(standInOrbs[name]), 0o644); err != nil {
			return nil, err
		}
		orbs[name] = file
	}
	return orbs, nil
}
