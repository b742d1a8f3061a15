package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/loopback-dev/loopback/config"
)

// bashHead starts the bash function: it finds the command (the first word,
// unless that is a flag: then check) and completes a command name in
// first place.
const bashHead = `# bash completion for loopback, written by 'loopback completion bash'
# from the flags loopback parses. Load it with:
#   source <(loopback completion bash)

# _loopback_offer completes the current word from flags ($1), or else from
# the command's argument words ($2); an empty word is offered the flags
# when the argument is not one of a few words.
_loopback_offer() {
    if [[ $cur == -* || ( -z $cur && -z $2 ) ]]; then
        COMPREPLY=($(compgen -W "$1" -- "$cur"))
    elif [[ -n $2 ]]; then
        COMPREPLY=($(compgen -W "$2" -- "$cur"))
    fi
}

_loopback() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    # bash splits --flag=value at the "=" (COMP_WORDBREAKS).
    if [[ $cur == = ]]; then
        cur=
    elif [[ $prev == = ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi
    COMPREPLY=()
    local cmd=check
    if [[ ${COMP_WORDS[1]} != -* ]]; then
        if ((COMP_CWORD == 1)); then
            COMPREPLY=($(compgen -W %s -- "$cur"))
            return
        fi
        cmd=${COMP_WORDS[1]}
    fi
    case $cmd in
`

const bashTail = `    esac
}

complete -F _loopback loopback
`

// writeBash writes a bash completion function: per command, the values of
// the flag before the cursor, else the flags or the argument's words.
func writeBash(w io.Writer, cmds []completed) error {
	var b strings.Builder
	fmt.Fprintf(&b, bashHead, sq(strings.Join(names(commandsOf(cmds)), " ")))
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s)\n", c.name)
		var paths, others []string
		b.WriteString("        case $prev in\n")
		for _, f := range c.flags {
			switch {
			case f.Values != nil:
				fmt.Fprintf(&b, "        %s) COMPREPLY=($(compgen -W %s -- \"$cur\")); return ;;\n",
					strings.Join(spellings(f), "|"), sq(strings.Join(f.Values, " ")))
			case isPath(f):
				paths = append(paths, spellings(f)...)
			case f.Arg != "":
				others = append(others, spellings(f)...)
			}
		}
		if paths != nil {
			fmt.Fprintf(&b, "        %s) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", strings.Join(paths, "|"))
		}
		if others != nil {
			// A value no list can give: offer nothing rather than flags.
			fmt.Fprintf(&b, "        %s) return ;;\n", strings.Join(others, "|"))
		}
		b.WriteString("        esac\n")
		fmt.Fprintf(&b, "        _loopback_offer %s %s\n        ;;\n", sq(flagWords(c)), sq(strings.Join(c.words, " ")))
	}
	b.WriteString(bashTail)
	_, err := io.WriteString(w, b.String())
	return err
}

// flagWords are every spelling of a command's flags, space-separated.
func flagWords(c completed) string {
	var out []string
	for _, f := range c.flags {
		out = append(out, spellings(f)...)
	}
	return strings.Join(out, " ")
}

func commandsOf(cmds []completed) []command {
	out := make([]command, len(cmds))
	for i, c := range cmds {
		out[i] = c.command
	}
	return out
}

const zshHead = `#compdef loopback
# zsh completion for loopback, written by 'loopback completion zsh' from
# the flags loopback parses. Save it as _loopback in a directory of $fpath,
# or, after compinit: source <(loopback completion zsh)

_loopback() {
  local cmd=check
  if [[ $words[2] != -* ]]; then
    if (( CURRENT == 2 )); then
      local -a commands
      commands=(
%s      )
      _describe -t commands 'loopback command' commands
      return
    fi
    cmd=$words[2]
    shift words
    (( CURRENT-- ))
  fi
  case $cmd in
`

const zshTail = `  esac
}

if [[ $funcstack[1] == _loopback ]]; then
  _loopback "$@"
else
  compdef _loopback loopback
fi
`

// writeZsh writes a zsh completion function: _arguments per command, with
// each flag's spellings, a short description and its values.
func writeZsh(w io.Writer, cmds []completed) error {
	var list strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&list, "        %s\n", sq(c.name+":"+c.summary))
	}
	var b strings.Builder
	fmt.Fprintf(&b, zshHead, list.String())
	for _, c := range cmds {
		fmt.Fprintf(&b, "    (%s)\n      _arguments -S", c.name)
		for _, f := range c.flags {
			fmt.Fprintf(&b, " \\\n        %s", zshSpec(f))
		}
		if c.words != nil {
			fmt.Fprintf(&b, " \\\n        %s", sq("1:"+c.name+" argument:("+strings.Join(c.words, " ")+")"))
		}
		b.WriteString("\n      ;;\n")
	}
	b.WriteString(zshTail)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshSpec is a flag as _arguments takes it: '(-c --count)'{-c,--count=}'[help]:n: '.
func zshSpec(f config.FlagDef) string {
	names := spellings(f)
	if f.Arg != "" && f.Long != "" {
		names[len(names)-1] += "=" // --count=5 as well as --count 5
	}
	spec := "[" + strings.NewReplacer("[", "(", "]", ")").Replace(summary(f.Help)) + "]"
	if f.Arg != "" {
		action := " "
		switch {
		case f.Values != nil:
			action = "(" + strings.Join(f.Values, " ") + ")"
		case isPath(f):
			action = "_files"
		}
		spec += ":" + strings.ReplaceAll(f.Arg, ":", `\:`) + ":" + action
	}
	if len(names) == 1 {
		return sq(names[0] + spec)
	}
	return sq("("+strings.Join(spellings(f), " ")+")") + "{" + strings.Join(names, ",") + "}" + sq(spec)
}

// writeFish writes fish complete commands: the commands first, then each
// command's flags, offered once its name has been typed (check's also
// when no command has).
func writeFish(w io.Writer, cmds []completed) error {
	var b strings.Builder
	b.WriteString("# fish completion for loopback, written by 'loopback completion fish' from\n" +
		"# the flags loopback parses. Save it as ~/.config/fish/completions/loopback.fish\n" +
		"# or load it with: loopback completion fish | source\n\n" +
		"complete -c loopback -f\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c loopback -n __fish_use_subcommand -a %s -d %s\n", c.name, fq(c.summary))
	}
	others := strings.Join(names(commandsOf(cmds))[1:], " ")
	for _, c := range cmds {
		cond := fq("__fish_seen_subcommand_from " + c.name)
		if c.name == "check" {
			cond = fq("not __fish_seen_subcommand_from " + others)
		}
		for _, f := range c.flags {
			fmt.Fprintf(&b, "complete -c loopback -n %s%s -d %s\n", cond, fishFlag(f), fq(summary(f.Help)))
		}
		if c.words != nil {
			fmt.Fprintf(&b, "complete -c loopback -n %s -a %s\n", fq("__fish_seen_subcommand_from "+c.name), fq(strings.Join(c.words, " ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fishFlag gives a flag's names and what its value is to fish's complete.
func fishFlag(f config.FlagDef) string {
	var s string
	if f.Short != "" {
		s += " -s " + f.Short
	}
	if f.Long != "" {
		s += " -l " + f.Long
	}
	switch {
	case f.Values != nil:
		s += " -x -a " + fq(strings.Join(f.Values, " "))
	case isPath(f):
		s += " -r -F"
	case f.Arg != "":
		s += " -x"
	}
	return s
}

// fq quotes s for fish, where a backslash escapes inside single quotes too.
func fq(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}
