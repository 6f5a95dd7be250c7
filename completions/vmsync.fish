# fish completion for vmsync. Thin on purpose: the candidates and their descriptions come from
# `vmsync __complete WORDS...`, which walks the live command-line definition (and asks the kubeconfig and the API
# for contexts, namespaces and cluster names), so this file never needs to change when options do.

function __vmsync_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l out (command $tokens[1] __complete $tokens[2..-1] "$current" 2>/dev/null </dev/null)
    or return
    set -l directive $out[-1]
    set -e out[-1]
    if test "$directive" = :files; and test (count $out) -eq 0
        __fish_complete_path (string replace -r -- '^-[^=]*=' '' $current)
        return
    end
    printf '%s\n' $out
end

complete -c vmsync -f -a '(__vmsync_complete)'
