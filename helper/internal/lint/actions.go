package lint

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// action is one thing a job does, in step order: a run step's script, or a call of a command
// (an orb's `alias/name` or a built-in step). Commands defined in the config are followed,
// so their steps count as the job's.
type action struct {
	node   *yaml.Node // where it is written
	script string     // a run step's command; "" for a call
	cmds   []string   // the script's simple commands (circleci.SimpleCommands), split once
	call   string     // the command or built-in called; "run" for a run step
	orb    *orbImport // the orb a call goes to, if any
}

// maxCommandDepth bounds how deep config commands calling commands are followed, and
// maxActions how many steps one job expands to: commands that each call another ten times
// must cost no more than their text (like an alias bomb).
const (
	maxCommandDepth = 8
	maxActions      = 2000
)

// actions lists what the entry's job does, when the job is defined in this config (an orb's
// job is opaque to the linter). `when`/`unless` steps count, whatever their condition.
func (l *linter) actions(e *entry) []action {
	if e.def == nil {
		return nil
	}
	if !e.actionsDone {
		l.appendActions(&e.actions, circleci.Items(e.def.steps), 0)
		e.actionsDone = true
	}
	return e.actions
}

func (l *linter) appendActions(out *[]action, steps []*yaml.Node, depth int) {
	if depth > maxCommandDepth {
		return
	}
	for _, step := range steps {
		if len(*out) >= maxActions {
			return
		}
		name, body := stepName(step)
		switch name {
		case "":
			continue
		case "run":
			script := circleci.Scalar(body)
			if script == "" {
				script = circleci.Scalar(circleci.Get(body, "command"))
			}
			*out = append(*out, action{node: step, script: script, cmds: circleci.SimpleCommands(script), call: "run"})
			continue
		case "when", "unless":
			l.appendActions(out, circleci.Items(circleci.Get(body, "steps")), depth+1)
			continue
		}
		a := action{node: step, call: name}
		if alias, _, ok := strings.Cut(name, "/"); ok {
			a.orb = l.cfg.orbs[alias]
		}
		*out = append(*out, a)
		if cmd := circleci.Get(circleci.Get(l.cfg.root, "commands"), name); cmd != nil && a.orb == nil {
			l.appendActions(out, circleci.Items(circleci.Get(cmd, "steps")), depth+1)
		}
	}
}

// orbCommand is the call's registry name, "namespace/orb/command", or "" when the call is not
// to an imported registry orb.
func (a action) orbCommand() string {
	if a.orb == nil || a.orb.name == "" {
		return ""
	}
	_, cmd, _ := strings.Cut(a.call, "/")
	return a.orb.name + "/" + cmd
}
