package localrunner

import "testing"

func TestExpressionsInConfig(t *testing.T) {
	config := `
version: 2.1
parameters:
  deploy: {type: boolean, default: false}
jobs:
  j:
    docker: [{image: x}]
    steps:
      - run: echo "main=<< pipeline.git.branch == "main" >> heredoc <<EOF >>out"
      - when:
          condition: << pipeline.git.branch starts-with "feat" >>
          steps: [{run: echo feature}]
workflows:
  main:
    when: pipeline.parameters.deploy or pipeline.git.branch == "main"
    jobs:
      - j
      - j: {name: only-main, filters: pipeline.git.branch == "main"}
`
	pl := plan(t, config, RunOptions{Branch: "feat-x", Parameters: map[string]any{"deploy": true}})
	if pl.Skipped {
		t.Fatal("workflow skipped")
	}
	if got := commands(pl.Jobs[0]); len(got) != 2 || got[0] != `echo "main=false heredoc <<EOF >>out"` || got[1] != "echo feature" {
		t.Errorf("commands = %q", got)
	}
	if !pl.Jobs[1].Filtered {
		t.Error("only-main must be filtered on feat-x")
	}
	pl = plan(t, config, RunOptions{Branch: "dev"})
	if !pl.Skipped {
		t.Error("workflow must be skipped on dev without deploy")
	}
}
