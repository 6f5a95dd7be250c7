# vmsync's JSON report as drift.jq prints it: one line per consumer pod, sorted, for a pod-by-pod comparison.
[.clusters[] | . as $c | (.consumers // [])[] | .role as $role | .pods[]
 | {namespace: $c.namespace, cluster: $c.name, role: $role, pod: .name, status,
    missing: ((.missing // []) | sort), unexpected: ((.unexpected // []) | sort)}]
| sort_by(.namespace, .cluster, .role, .pod)[]
