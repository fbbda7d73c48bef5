"""``rtcctl completion bash|zsh``: a shell completion script generated from the command line itself.

The script is built from the argparse tree every time it is printed, so it names every
command word and flag of the ``rtcctl`` it came from, the accepted values of the flags
that have a fixed set (``--granularity 5m|1h|1d``) and file names where a file is
expected. It needs nothing installed besides the shell::

    source <(rtcctl completion bash)     # in ~/.bashrc
    source <(rtcctl completion zsh)      # in ~/.zshrc, after compinit
    rtcctl completion zsh > "${fpath[1]}/_rtcctl"   # or as an autoloaded function

What each completes: after a command word, the words that may follow it; after ``-``,
the flags of that command (the global ones included); after a flag that takes a value,
its accepted values, or file names, or nothing when the value is free text.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.wrappers_pb2 import StringValue

from rtcconsole.cli._framework import Commands, Invocation, Output

__all__ = ["SHELLS", "CommandSpec", "bash_script", "command_specs", "register", "zsh_script"]

SHELLS = ("bash", "zsh")
"""The shells ``rtcctl completion`` writes a script for."""

_POSITIONAL = "@"
"""The key under which a command's positional argument's values are listed."""

_HELP = """\
print a completion script for bash or zsh, generated from rtcctl's own command line.

bash, for this shell and every new one:
  source <(rtcctl completion bash)
  echo 'source <(rtcctl completion bash)' >> ~/.bashrc
  # or: rtcctl completion bash > ~/.local/share/bash-completion/completions/rtcctl

zsh (after compinit):
  source <(rtcctl completion zsh)
  echo 'source <(rtcctl completion zsh)' >> ~/.zshrc
  # or: rtcctl completion zsh > "${fpath[1]}/_rtcctl"

The script names every command and flag; print it again after an upgrade."""


@dataclass(frozen=True)
class CommandSpec:
    """What completion needs of one command word path (``("rtcctl", "apps", "disable")``)."""

    path: tuple[str, ...]
    words: tuple[str, ...]
    """The command words that may follow (empty for a command that runs)."""
    flags: tuple[str, ...]
    """Every option string, global options included."""
    valued: tuple[str, ...]
    """The option strings that take a value (the next word is not a command word)."""
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Option string, or ``@`` for a positional argument → its accepted values."""
    files: tuple[str, ...] = ()
    """Option strings, or ``@``, whose value is a file name."""

    @property
    def key(self) -> str:
        return " ".join(self.path)


def _is_file(action: argparse.Action) -> bool:
    return action.type is Path or action.metavar == "FILE"


def _spec(path: tuple[str, ...], parser: argparse.ArgumentParser) -> CommandSpec:
    words: list[str] = []
    flags: list[str] = []
    valued: list[str] = []
    choices: dict[str, tuple[str, ...]] = {}
    files: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            words.extend(action.choices)
            continue
        names = list(action.option_strings) or [_POSITIONAL]
        if action.option_strings:
            flags.extend(action.option_strings)
            if action.nargs == 0:
                continue
            valued.extend(action.option_strings)
        for name in names:
            if action.choices is not None:
                choices[name] = tuple(str(choice) for choice in action.choices)
            elif _is_file(action):
                files.append(name)
    return CommandSpec(path, tuple(words), tuple(flags), tuple(valued), choices, tuple(files))


def command_specs(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("rtcctl",)
) -> Iterator[CommandSpec]:
    """Every command word path of ``parser``, depth first, the top level first."""
    yield _spec(path, parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_specs(sub, (*path, name))


def _bash_entry(key: str, value: str) -> str:
    return f"    [{shlex.quote(key)}]={shlex.quote(value)}"


def _zsh_entry(key: str, value: str) -> str:  # zsh: name=(key value key value …)
    return f"    {shlex.quote(key)} {shlex.quote(value)}"


def _tables(specs: list[CommandSpec], assign: str, entry: Callable[[str, str], str]) -> list[str]:
    """The lookup tables both scripts share, as ``assign NAME=(…)`` of associative arrays:
    per command path (``rtcctl apps``) its words, flags and flags that take a value; per path
    and flag (``rtcctl usage trtc --granularity``, ``@`` for a positional) its values or files."""

    def table(name: str, entries: list[tuple[str, str]]) -> list[str]:
        return [f"{assign}{name}=(", *(entry(key, value) for key, value in entries), ")"]

    return [
        *table("_rtcctl_words", [(s.key, " ".join(s.words)) for s in specs if s.words]),
        *table("_rtcctl_flags", [(s.key, " ".join(s.flags)) for s in specs]),
        *table("_rtcctl_valued", [(s.key, " ".join(s.valued)) for s in specs if s.valued]),
        *table(
            "_rtcctl_choices",
            [(f"{s.key} {name}", " ".join(values)) for s in specs for name, values in s.choices.items()],
        ),
        *table("_rtcctl_files", [(f"{s.key} {name}", "1") for s in specs for name in s.files]),
    ]


_BASH = r"""
_rtcctl() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local cmd=rtcctl word flag key i skip=0
    # Walk the words before the cursor: command words extend the path, flag values are skipped
    # (bash splits --flag=value into --flag, =, value).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        if [[ $word == "=" ]]; then skip=1; continue; fi
        if ((skip)); then skip=0; continue; fi
        case "$word" in
            -*=*) ;;
            -*) [[ " ${_rtcctl_valued[$cmd]} " == *" $word "* ]] && skip=1 ;;
            *) [[ " ${_rtcctl_words[$cmd]} " == *" $word "* ]] && cmd="$cmd $word" ;;
        esac
    done
    flag="$prev"
    if [[ $cur == "=" ]]; then
        cur=""
    elif [[ $prev == "=" ]]; then
        flag="${COMP_WORDS[COMP_CWORD-2]}"
    fi
    COMPREPLY=()
    if [[ $flag == -* && " ${_rtcctl_valued[$cmd]} " == *" $flag "* ]]; then
        key="$cmd $flag"
        if [[ -n ${_rtcctl_choices[$key]+set} ]]; then
            COMPREPLY=($(compgen -W "${_rtcctl_choices[$key]}" -- "$cur"))
        elif [[ -n ${_rtcctl_files[$key]+set} ]]; then
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return 0
    fi
    key="$cmd @"
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_rtcctl_flags[$cmd]}" -- "$cur"))
    elif [[ -n ${_rtcctl_words[$cmd]+set} ]]; then
        COMPREPLY=($(compgen -W "${_rtcctl_words[$cmd]}" -- "$cur"))
    elif [[ -n ${_rtcctl_choices[$key]+set} ]]; then
        COMPREPLY=($(compgen -W "${_rtcctl_choices[$key]}" -- "$cur"))
    elif [[ -n ${_rtcctl_files[$key]+set} ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
}

complete -F _rtcctl rtcctl
"""

_ZSH = r"""
_rtcctl() {
    local cmd=rtcctl word flag key cur=${words[CURRENT]} prev=${words[CURRENT-1]}
    integer i skip=0
    # Walk the words before the cursor: command words extend the path, flag values are skipped.
    for (( i = 2; i < CURRENT; i++ )); do
        word=${words[i]}
        if (( skip )); then skip=0; continue; fi
        case $word in
            -*=*) ;;
            -*) [[ " ${_rtcctl_valued[$cmd]} " == *" $word "* ]] && skip=1 ;;
            *) [[ " ${_rtcctl_words[$cmd]} " == *" $word "* ]] && cmd="$cmd $word" ;;
        esac
    done
    flag=$prev
    if [[ $cur == -*=* ]]; then
        flag=${cur%%=*}
        compset -P '*='
    fi
    if [[ $flag == -* && " ${_rtcctl_valued[$cmd]} " == *" $flag "* ]]; then
        key="$cmd $flag"
        if (( ${+_rtcctl_choices[$key]} )); then
            compadd -- ${=_rtcctl_choices[$key]}
        elif (( ${+_rtcctl_files[$key]} )); then
            _files
        else
            _message 'a value'
        fi
        return
    fi
    key="$cmd @"
    if [[ $cur == -* ]]; then
        compadd -- ${=_rtcctl_flags[$cmd]}
    elif (( ${+_rtcctl_words[$cmd]} )); then
        compadd -- ${=_rtcctl_words[$cmd]}
    elif (( ${+_rtcctl_choices[$key]} )); then
        compadd -- ${=_rtcctl_choices[$key]}
    elif (( ${+_rtcctl_files[$key]} )); then
        _files
    fi
}

if [[ ${funcstack[1]} == _rtcctl ]]; then
    _rtcctl "$@"  # autoloaded from $fpath: this file is the function's body
else
    compdef _rtcctl rtcctl
fi
"""


def bash_script(parser: argparse.ArgumentParser) -> str:
    """The bash completion script of ``parser`` (bash 4.2 or later)."""
    head = [
        "# bash completion of rtcctl, generated from its command line by `rtcctl completion bash`.",
        "# Use: source <(rtcctl completion bash)",
    ]
    tables = _tables(list(command_specs(parser)), "declare -gA ", _bash_entry)
    return "\n".join([*head, *tables]) + "\n" + _BASH


def zsh_script(parser: argparse.ArgumentParser) -> str:
    """The zsh completion script of ``parser``: sourced after compinit, or autoloaded as ``_rtcctl``."""
    head = [
        "#compdef rtcctl",
        "# zsh completion of rtcctl, generated from its command line by `rtcctl completion zsh`.",
        '# Use: source <(rtcctl completion zsh)   or save it as "${fpath[1]}/_rtcctl"',
        "typeset -gA _rtcctl_words _rtcctl_flags _rtcctl_valued _rtcctl_choices _rtcctl_files",
    ]
    tables = _tables(list(command_specs(parser)), "", _zsh_entry)
    return "\n".join([*head, *tables]) + "\n" + _ZSH


def register(commands: Commands) -> None:
    """Add ``completion bash|zsh`` to the command line."""
    root = commands.root

    async def run(invocation: Invocation) -> Output:
        shell: str = invocation.args.shell
        script = bash_script(root) if shell == "bash" else zsh_script(root)
        return Output(StringValue(value=script), script.rstrip("\n"))

    command = commands.command(
        "completion",
        "print a shell completion script: source <(rtcctl completion bash)",
        run,
        description=_HELP,
    )
    command.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
