// Package architecture holds no code: its test enforces the import rules drawn in
// docs/architecture.md (who may import whom), so the picture and the code cannot drift apart,
// and keeps work out of the start-up every command pays (no regexp compiled at package
// initialisation, no urfave/cli docs generation in the release build; issue 15).
package architecture
