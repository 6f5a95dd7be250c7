# The peer of `vmsync check -A`: what an SRE writes today with kubectl and jq. Input: one List holding every
# StatefulSet, Deployment, Pod and ConfigMap of the cluster, plus KubeBlocks InstanceSets and VMClusters
# (`kubectl get sts,deploy,pods,cm,instancesets,vmclusters -A -o json`). Output: one line per vminsert/vmselect
# pod, sorted: {namespace, cluster, role, pod, status, missing, unexpected}, with vmsync's rules:
#   - expected list: one entry per declared vmstorage replica, spelled as the layout spells it;
#   - running list: the pod's own -storageNode (args are immutable); when it comes from a ConfigMap through
#     $(VAR), the value counts only if the container started after the key last changed (managedFields time):
#     started before -> Stale (list unknown), same second -> Unknown, unless the key never changed;
#   - Stale when the running list misses or adds entries.
# Layouts: Helm chart victoria-metrics-cluster, VictoriaMetrics operator VMCluster, KubeBlocks 1.0, generic
# (vmsync.io/storage-workload annotations).

def items($k): [.items[] | select(.kind == $k)];
def lbl($k): .metadata.labels[$k] // "";
def ann($k): .metadata.annotations[$k] // "";
def key: .metadata.namespace + "/" + .metadata.name;

# "-storageNode=a,b" / "--storageNode=a" / "-storageNode a": every value, split on commas, in order.
def storage_args:
  [ (.command // []) + (.args // []) | . as $argv | range(0; length) as $i | $argv[$i]
    | if test("^--?storageNode=") then sub("^--?storageNode="; "")
      elif test("^--?storageNode$") then ($argv[$i + 1] // "")
      else empty end ];

# Where $(VAR) comes from for a container: {value, cm, key} (cm empty for literals).
def var_source($c; $cms; $ns; $var):
  ( [ ($c.env // [])[] | select(.name == $var)
      | if .valueFrom.configMapKeyRef then
          .valueFrom.configMapKeyRef as $r
          | {value: ($cms[$ns + "/" + $r.name].data[$r.key]), cm: $r.name, key: $r.key}
        else {value: (.value // ""), cm: "", key: ""} end ] | last )
  // ( [ ($c.envFrom // [])[] | select(.configMapRef) | .configMapRef.name as $n
        | ($cms[$ns + "/" + $n].data // {}) as $d | select($d | has($var))
        | {value: $d[$var], cm: $n, key: $var} ] | last )
  // null;

# The newest managedFields time that owns data.<key>.
def last_change($key):
  [ (.metadata.managedFields // [])[] | select(.fieldsV1["f:data"] | has("f:" + $key)?) | .time ] | max;

def split_list: if . == null then [] else [splits(",") | select(length > 0)] end;

# One pod against its expected list.
def pod_drift($pod; $cname; $expected; $cms):
  ($pod.metadata.namespace) as $ns
  | ([$pod.spec.containers[] | select((storage_args | length) > 0)] | first) as $c
  | if $c == null then {status: "Unknown", missing: [], unexpected: []}
    else
      ($c | storage_args) as $raw
      | ($raw | map(capture("^\\$\\((?<v>[A-Za-z_][A-Za-z0-9_]*)\\)$").v // null)) as $vars
      | if ($vars | map(select(. != null)) | length) == 0 then
          {running: ($raw | map(split_list) | add)}
        else
          (var_source($c; $cms; $ns; ($vars | map(select(. != null)) | first))) as $src
          | if $src == null then {status: "Unknown"}
            elif $src.cm == "" then {running: ($src.value | split_list)}
            else
              ($cms[$ns + "/" + $src.cm]) as $cm
              | ($cm | last_change($src.key)) as $changed
              | ([$pod.status.containerStatuses[]? | select(.name == $c.name) | .state.running.startedAt] | first) as $started
              | if $started == null then {running: ($src.value | split_list)}
                elif $changed == null then {status: "Unknown"}
                elif $started > $changed then {running: ($src.value | split_list)}
                elif $started < $changed then {status: "Stale"}
                elif $changed == $cm.metadata.creationTimestamp then {running: ($src.value | split_list)}
                else {status: "Unknown"} end
            end
        end
      | if .running then
          (.running) as $r
          | {missing: ($expected - $r), unexpected: ($r - $expected)}
          | .status = (if (.missing | length) == 0 and (.unexpected | length) == 0 then "InSync" else "Stale" end)
        else {status: .status, missing: [], unexpected: []} end
    end
  | {pod: $pod.metadata.name} + .;

def live: select(.metadata.deletionTimestamp == null and (.status.phase // "") != "Succeeded" and (.status.phase // "") != "Failed");

# Pods owned by a workload: by owner UID, or for a Deployment by its ReplicaSets' names and its selector.
def owned($pods_by_ns; $w; $kind):
  ($w.spec.selector.matchLabels // {}) as $sel
  | [ ($pods_by_ns[$w.metadata.namespace] // [])[] | live
      | select(any(.metadata.ownerReferences[]?;
          .uid == $w.metadata.uid
          or ($kind == "Deployment" and .kind == "ReplicaSet" and (.name | startswith($w.metadata.name + "-")))))
      | select($kind != "Deployment" or (. as $p | all($sel | to_entries[]; $p.metadata.labels[.key] == .value))) ];

def report($pods_by_ns; $cms; $ns; $cname; $role; $expected; $w; $kind):
  owned($pods_by_ns; $w; $kind)[]
  | pod_drift(.; $cname; $expected; $cms) + {namespace: $ns, cluster: $cname, role: $role};

. as $all
| (items("Pod") | group_by(.metadata.namespace) | map({key: .[0].metadata.namespace, value: .}) | from_entries) as $pods
| (items("ConfigMap") | INDEX(key)) as $cms
| (items("StatefulSet") | INDEX(key)) as $sts
| (items("Deployment") | INDEX(key)) as $deps
| (items("InstanceSet") | INDEX(key)) as $its
| [
  # Helm chart victoria-metrics-cluster.
  ( $sts[] | select(lbl("app") == "vmstorage" and lbl("app.kubernetes.io/name") == "victoria-metrics-cluster")
    | . as $s | $s.metadata.namespace as $ns | ($s | lbl("app.kubernetes.io/instance")) as $c
    | ($s.spec.serviceName // $s.metadata.name) as $svc
    | ($deps[], $sts[]) | select(.metadata.namespace == $ns and lbl("app.kubernetes.io/instance") == $c
                                 and lbl("app.kubernetes.io/name") == "victoria-metrics-cluster")
    | lbl("app") as $role | select($role == "vminsert" or $role == "vmselect")
    | (if $role == "vminsert" then 8400 else 8401 end) as $port
    | [range(0; $s.spec.replicas // 1) | "\($s.metadata.name)-\(.).\($svc).\($ns).svc.cluster.local.:\($port)"] as $exp
    | report($pods; $cms; $ns; $c; $role; $exp; .; .kind) ),
  # VictoriaMetrics operator.
  ( items("VMCluster")[] | . as $v | $v.metadata.namespace as $ns | $v.metadata.name as $c
    | $sts[$ns + "/vmstorage-" + $c] as $s | select($s != null)
    | ($v.spec.clusterDomainName // "") as $dom
    | ( {role: "vmselect", w: $sts[$ns + "/vmselect-" + $c], port: 8401, m: ($v.spec.vmstorage.maintenanceSelectNodeIDs // [])},
        {role: "vminsert", w: $deps[$ns + "/vminsert-" + $c], port: 8400, m: ($v.spec.vmstorage.maintenanceInsertNodeIDs // [])} )
    | select(.w != null) | . as $p
    | [range(0; $s.spec.replicas // 1) | select(. as $i | $p.m | index($i) | not)
       | "vmstorage-\($c)-\(.).vmstorage-\($c).\($ns)\(if $dom == "" then "" else ".svc." + $dom end):\($p.port)"] as $exp
    | report($pods; $cms; $ns; $c; $p.role; $exp; $p.w; $p.w.kind) ),
  # KubeBlocks: InstanceSets <c>-vmstorage, <c>-vminsert, <c>-vmselect; pod services, sorted as strings.
  ( $its[] | select(lbl("apps.kubeblocks.io/component-name") == "vmstorage")
    | . as $s | $s.metadata.namespace as $ns | ($s | lbl("app.kubernetes.io/instance")) as $c
    | $its[] | select(.metadata.namespace == $ns and lbl("app.kubernetes.io/instance") == $c)
    | lbl("apps.kubeblocks.io/component-name") as $role | select($role == "vminsert" or $role == "vmselect")
    | (if $role == "vminsert" then 8400 else 8401 end) as $port
    | ([range(0; $s.spec.replicas // 1) | "\($c)-vmstorage-\(.):\($port)"] | sort) as $exp
    | report($pods; $cms; $ns; $c; $role; $exp; .; "InstanceSet") ),
  # Generic: consumers annotated vmsync.io/storage-workload: statefulset/<name>.
  ( ($deps[], $sts[]) | select(ann("vmsync.io/storage-workload") != "")
    | . as $w | $w.metadata.namespace as $ns
    | (ann("vmsync.io/storage-workload") | sub("^[^/]*/"; "")) as $c
    | $sts[$ns + "/" + $c] as $s | select($s != null)
    | ann("vmsync.io/role") as $role
    | (if $role == "vminsert" then 8400 else 8401 end) as $port
    | ($s.spec.serviceName // $c) as $svc
    | [range(0; $s.spec.replicas // 1) | "\($c)-\(.).\($svc).\($ns).svc:\($port)"] as $exp
    | report($pods; $cms; $ns; $c; $role; $exp; $w; $w.kind) )
  ]
| sort_by(.namespace, .cluster, .role, .pod)[]
| {namespace, cluster, role, pod, status, missing: (.missing | sort), unexpected: (.unexpected | sort)}
