# bash completion for vmsync                                               -*- shell-script -*-
# Thin on purpose: the candidates come from `vmsync __complete WORDS...`, which walks the live command-line
# definition (and asks the kubeconfig and the API for contexts, namespaces and cluster names), so this file never
# needs to change when options do. Needs bash-completion (_init_completion, _filedir).

_vmsync() {
    local cur prev words cword
    # '=' and ':' are not word breaks here: --output=json and contexts like arn:aws:eks:... stay one word.
    _init_completion -n =: || return

    local line out directive=":nofiles"
    local -a candidates=()
    out=$("${words[0]}" __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null </dev/null) || return
    while IFS= read -r line; do
        case $line in
        :*) directive=$line ;;
        *) candidates+=("${line%%$'\t'*}") ;;
        esac
    done <<<"$out"

    if [[ $directive == :files && ${#candidates[@]} -eq 0 ]]; then
        [[ $cur == -*=* ]] && cur=${cur#*=}
        _filedir
        return
    fi
    local c
    COMPREPLY=()
    for c in "${candidates[@]}"; do
        [[ $c == "$cur"* ]] && COMPREPLY+=("$c")
    done
    # bash replaces only the text after the last word break, so the candidates must lose what comes before it.
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        __ltrim_colon_completions "$cur"
    elif [[ $cur == *=* && $COMP_WORDBREAKS == *=* ]]; then
        local i prefix=${cur%=*}=
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}; done
    fi
} &&
    complete -F _vmsync vmsync

# ex: filetype=sh
