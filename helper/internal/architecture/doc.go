// Package architecture holds no code: its test enforces the import rules drawn in
// docs/architecture.md (who may import whom), so the picture and the code cannot drift apart.
package architecture
