package app

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// completionScripts are urfave/cli v2's own scripts (autocomplete/bash_autocomplete and
// autocomplete/zsh_autocomplete in github.com/urfave/cli/v2 v2.27.7) with PROG fixed to
// shipgate: they call `shipgate ... --generate-bash-completion`, which the App answers because
// EnableBashCompletion is set (newApp).
var completionScripts = map[string]string{
	"bash": `# shipgate bash completion: source <(shipgate completion bash)
_shipgate_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts words cword
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
    if [[ "$cur" == "-"* ]]; then
      # urfave/cli turns completion off after a "--" word: ask with "-" (every flag) instead.
      local ask="${cur}"
      [[ "$ask" == "--" ]] && ask="-"
      opts=$("${words[@]}" "${ask}" --generate-bash-completion 2>/dev/null)
    else
      opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
    fi
    COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
    return 0
  fi
}
complete -o bashdefault -o default -o nospace -F _shipgate_bash_autocomplete shipgate
`,
	"zsh": `#compdef shipgate
# shipgate zsh completion: source <(shipgate completion zsh)
_shipgate_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _shipgate_zsh_autocomplete shipgate
`,
}

func completionCommand(s *streams) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		UsageText: "source <(shipgate completion bash)",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return failure.New(failure.Usage, "completion: want one shell, bash or zsh")
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return failure.New(failure.Usage, "completion: unknown shell %q: want bash or zsh", c.Args().First())
			}
			_, err := fmt.Fprint(s.stdout, script)
			return err
		},
	}
}
