package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionShells are the shells `bgrender completion` writes a script for.
func completionShells() []string { return []string{"bash", "zsh", "fish"} }

// The bash and zsh scripts ask the binary for candidates: urfave/cli lists
// the commands, or the flags of the command being typed, when the last
// argument is --generate-bash-completion. They never run the binary once the
// line holds "--" (urfave/cli then treats the flag as an argument and would
// run the command), and they pass "-" for a flag being typed, never the word
// itself: a bare "--" would be that case. The candidates are matched against
// the word being typed as plain strings, never expanded (as compgen -W would).

const bashCompletion = `# bash completion for bgrender. Either
#   source <(bgrender completion bash)
# or, with bash-completion, save it as
# ~/.local/share/bash-completion/completions/bgrender.
_bgrender_complete() {
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
        _get_comp_words_by_ref -n =: cur words cword
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    COMPREPLY=()
    local -a args=("${words[@]:0:cword}")
    local w
    for w in "${args[@]:1}"; do
        [[ $w == -- ]] && return 0
    done
    args[0]=${args[0]/#\~/$HOME}
    [[ $cur == -* ]] && args+=(-)
    local c
    while IFS= read -r c; do
        [[ -n $c && $c == "$cur"* ]] && COMPREPLY+=("$c")
    done < <("${args[@]}" --generate-bash-completion 2>/dev/null)
}
complete -o bashdefault -o default -F _bgrender_complete bgrender
`

const zshCompletion = `#compdef bgrender
# zsh completion for bgrender; needs compinit. Either
#   source <(bgrender completion zsh)
# or save it as _bgrender in a directory of $fpath (before compinit runs).

_bgrender() {
    local -a args opts
    args=("${(@Q)words[1,CURRENT-1]}")
    if (( ${args[(Ie)--]} )); then
        _files
        return
    fi
    args[1]=${args[1]/#\~/$HOME}
    [[ ${words[CURRENT]} == -* ]] && args+=(-)
    opts=("${(@f)$("${args[@]}" --generate-bash-completion 2>/dev/null)}")
    opts=(${opts:#})
    if (( ${#opts} )); then
        compadd -- "${opts[@]}"
    else
        _files
    fi
}

if [[ ${funcstack[1]} == _bgrender ]]; then
    _bgrender "$@"
else
    compdef _bgrender bgrender
fi
`

func completionCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script for bash, zsh or fish",
		UsageText: "bgrender completion bash|zsh|fish",
		Description: `Prints a script that completes bgrender's commands and their flags. The bash
and zsh scripts ask bgrender itself for the candidates, so they follow the
installed binary; the fish script lists them, so regenerate it after an
upgrade.

Install:
   bash   source <(bgrender completion bash) in ~/.bashrc; or, with the
          bash-completion package, save it once as
          ~/.local/share/bash-completion/completions/bgrender
   zsh    source <(bgrender completion zsh) in ~/.zshrc after compinit; or
          save it once as _bgrender in a directory of $fpath
   fish   save it once as ~/.config/fish/completions/bgrender.fish

` + examples(
			"source <(bgrender completion bash)",
			"bgrender completion bash > ~/.local/share/bash-completion/completions/bgrender",
			"autoload -U compinit && compinit && source <(bgrender completion zsh)",
			"mkdir -p ~/.zfunc && bgrender completion zsh > ~/.zfunc/_bgrender   # and fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc",
			"bgrender completion fish > ~/.config/fish/completions/bgrender.fish"),
		BashComplete: func(c *cli.Context) {
			if c.NArg() == 0 {
				fmt.Fprintln(c.App.Writer, strings.Join(completionShells(), "\n"))
			}
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion needs one argument, the shell: %s", strings.Join(completionShells(), ", "))
			}
			// The fish script lists the commands and flags of an app that
			// has not run: a running one has grown help subcommands.
			return writeCompletion(g.stdout, c.Args().First(), func() *cli.App { return newApp(&globals{}) })
		},
	}
}

// writeCompletion writes the completion script for shell; the fish script
// is generated from app().
func writeCompletion(w io.Writer, shell string, app func() *cli.App) error {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := app().ToFishCompletion()
		if err != nil {
			return fmt.Errorf("generate the fish completion script: %w", err)
		}
		script = s + fmt.Sprintf("complete -c bgrender -n '__fish_seen_subcommand_from completion' -f -a '%s'\n", strings.Join(completionShells(), " "))
	default:
		return usagef("completion: unknown shell %q: must be one of %s", shell, strings.Join(completionShells(), ", "))
	}
	if _, err := io.WriteString(w, script); err != nil {
		return fmt.Errorf("write the %s completion script: %w", shell, err)
	}
	return nil
}
