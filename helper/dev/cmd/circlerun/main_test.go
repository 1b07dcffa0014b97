package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const config = `
version: 2.1
orbs:
  edge: example/edge@1.0.0
parameters:
  fail: {type: boolean, default: false}
jobs:
  check:
    docker: [{image: x}]
    steps:
      - run: test "$FROM_CTX" = ok && test "<< pipeline.parameters.fail >>" = false
workflows:
  main:
    jobs:
      - edge/write: {path: a.txt}
      - hold: {type: approval, requires: [edge/write]}
      - check: {requires: [hold], context: ctx}
`

func TestCirclerun(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	orb := "--orb=example/edge=../../internal/localrunner/testdata/edge-orb.yml"
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{name: "success", args: []string{"--config", cfg, orb, "--context", "ctx=FROM_CTX=ok"}, code: 0,
			stdout: []string{"edge/write", "success", "hold", "approved by the local runner"},
			stderr: []string{"--> [edge/write] Write file", "approved automatically"}},
		{name: "job fails", args: []string{"--config", cfg, orb, "--context", "ctx=FROM_CTX=ok", "--param", "fail=true"}, code: 1,
			stdout: []string{"check", "failed"}},
		{name: "missing context", args: []string{"--config", cfg, orb, "--context", "other=A=b"}, code: 1,
			stdout: []string{`context "ctx" is not available`}},
		{name: "plan", args: []string{"--config", cfg, orb, "--plan"}, code: 0,
			stdout: []string{"- run: Write file [on_success]", "hold: approval"}},
		{name: "missing orb", args: []string{"--config", cfg, "--workflow", "main"}, code: 2,
			stderr: []string{"--orb example/edge=FILE"}},
		{name: "undeclared parameter", args: []string{"--config", cfg, orb, "--param", "nope=1"}, code: 2,
			stderr: []string{"nope are not declared"}},
		{name: "orb example", args: []string{"--config", "../../internal/localrunner/testdata/edge-orb.yml", "--example", "write_twice", orb}, code: 0,
			stdout: []string{"edge/write", "success"}},
		{name: "bad flag", args: []string{"--orb", "x"}, code: 2, stderr: []string{"want NAME=VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errOut)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errOut.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut.String())
				}
			}
		})
	}
}
