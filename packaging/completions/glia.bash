# bash completion for glia                                        -*- shell-script -*-

# Operator ids, from the first column of `glia plugins` (the table ends at a blank line).
_glia_operator_ids()
{
    "$1" plugins 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 }'
}

_glia()
{
    local cur prev words cword
    _init_completion || return

    # The subcommand words typed so far, skipping options and their values.
    local i cmd="" sub="" arg=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --plugin-path | --set | --threads | --out | --format | --dir) ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $cmd ]]; then cmd=${words[i]}
                elif [[ -z $sub ]]; then sub=${words[i]}
                else arg=${words[i]}
                fi
                ;;
        esac
    done

    case $prev in
        --plugin-path) _filedir; return ;;
        --out | --dir) _filedir -d; return ;;
        --set | --threads) return ;;
        --format)
            if [[ $cmd == run ]]; then
                COMPREPLY=($(compgen -W "table json" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "text json" -- "$cur"))
            fi
            return
            ;;
    esac

    case $cmd in
        "")
            COMPREPLY=($(compgen -W "plugins config validate run new --plugin-path --quiet
                --verbose --version --help" -- "$cur"))
            ;;
        plugins)
            case $sub in
                "") COMPREPLY=($(compgen -W "list info check --format --help" -- "$cur")) ;;
                list) COMPREPLY=($(compgen -W "--format" -- "$cur")) ;;
                info)
                    if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--format" -- "$cur"))
                    elif [[ -z $arg ]]; then
                        COMPREPLY=($(compgen -W "$(_glia_operator_ids "${words[0]}")" -- "$cur"))
                    fi
                    ;;
                check) [[ -z $arg ]] && _filedir so ;;
            esac
            ;;
        config)
            if [[ -z $sub ]]; then
                COMPREPLY=($(compgen -W "generate" -- "$cur"))
            elif [[ -z $arg ]]; then
                COMPREPLY=($(compgen -W "$(_glia_operator_ids "${words[0]}")" -- "$cur"))
            fi
            ;;
        validate | run)
            if [[ $cur == -* ]]; then
                local opts="--set --help"
                [[ $cmd == run ]] && opts="--set --threads --out --format --quiet --help"
                COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            elif [[ -z $sub ]]; then
                _filedir toml
            fi
            ;;
        new)
            if [[ -z $sub ]]; then
                COMPREPLY=($(compgen -W "plugin" -- "$cur"))
            elif [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--dir --help" -- "$cur"))
            fi
            ;;
    esac
} &&
    complete -F _glia glia

# ex: filetype=sh
