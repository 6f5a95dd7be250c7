package kubelet

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Source gives the objects a container's environment is built from. A nil
// object with a nil error means "not found".
type Source interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
	// Services returns the services whose variables the kubelet injects:
	// those of the namespace (when enableServiceLinks) and default/kubernetes.
	Services(namespace string) ([]corev1.Service, error)
}

// EnvVar is one resolved variable, in the order the runtime gets them.
type EnvVar struct{ Name, Value string }

// Resolved is a container as started: its final environment, command and args.
type Resolved struct {
	Env     []EnvVar
	EnvMap  map[string]string
	Command []string
	Args    []string
}

// ConfigError is what the kubelet reports as CreateContainerConfigError.
type ConfigError struct{ Msg string }

func (e *ConfigError) Error() string { return e.Msg }

// validEnvName is the relaxed rule (RelaxedEnvironmentVariableValidation, GA):
// printable ASCII other than "=", non-empty.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 || s[i] == '=' {
			return false
		}
	}
	return true
}

// serviceEnv builds the docker-link style variables for services
// (NAME_SERVICE_HOST, NAME_SERVICE_PORT, NAME_PORT_..., as the kubelet does).
func serviceEnv(svcs []corev1.Service) map[string]string {
	m := map[string]string{}
	for _, s := range svcs {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
		m[name+"_SERVICE_HOST"] = ip
		if len(s.Spec.Ports) == 0 {
			continue
		}
		m[name+"_SERVICE_PORT"] = strconv.Itoa(int(s.Spec.Ports[0].Port))
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				m[name+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = strconv.Itoa(int(p.Port))
			}
		}
		first := s.Spec.Ports[0]
		m[name+"_PORT"] = fmt.Sprintf("%s://%s:%d", strings.ToLower(string(protoOf(first))), ip, first.Port)
		for _, p := range s.Spec.Ports {
			proto := protoOf(p)
			pfx := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(string(proto)))
			m[pfx] = fmt.Sprintf("%s://%s:%d", strings.ToLower(string(proto)), ip, p.Port)
			m[pfx+"_PROTO"] = strings.ToLower(string(proto))
			m[pfx+"_PORT"] = strconv.Itoa(int(p.Port))
			m[pfx+"_ADDR"] = ip
		}
	}
	return m
}

func protoOf(p corev1.ServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return p.Protocol
}

// fieldRef resolves the downward-API fields a kubelet supports in env.
func fieldRef(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		var ips []string
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.hostIPs":
		var ips []string
		for _, ip := range pod.Status.HostIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	}
	for _, pfx := range []string{"metadata.labels", "metadata.annotations"} {
		if strings.HasPrefix(path, pfx+"['") && strings.HasSuffix(path, "']") {
			key := path[len(pfx)+2 : len(path)-2]
			if pfx == "metadata.labels" {
				return pod.Labels[key], nil
			}
			return pod.Annotations[key], nil
		}
	}
	if path == "metadata.labels" || path == "metadata.annotations" {
		m := pod.Labels
		if path == "metadata.annotations" {
			m = pod.Annotations
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var lines []string
		for _, k := range keys {
			lines = append(lines, fmt.Sprintf("%s=%q", k, m[k]))
		}
		return strings.Join(lines, "\n"), nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// ResolveContainer builds a container's environment and expands its command
// and args as the kubelet does at container creation:
//  1. service variables form the base (namespace services when
//     enableServiceLinks is not false, plus default/kubernetes);
//  2. envFrom sources in order (with prefix; invalid names skipped), later
//     sources overriding earlier ones;
//  3. env entries in order, later overriding earlier ones and envFrom; a
//     literal value has $(VAR) expanded against the variables defined so far
//     (then service variables); valueFrom is resolved from its source;
//  4. command and args have $(VAR) expanded against the final environment.
//
// Missing non-optional ConfigMaps/Secrets/keys yield a *ConfigError.
func ResolveContainer(pod *corev1.Pod, c *corev1.Container, src Source) (*Resolved, error) {
	svcs, err := src.Services(pod.Namespace)
	if err != nil {
		return nil, err
	}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	var use []corev1.Service
	for _, s := range svcs {
		if s.Namespace == "default" && s.Name == "kubernetes" {
			use = append(use, s)
		} else if links && s.Namespace == pod.Namespace {
			use = append(use, s)
		}
	}
	svcEnv := serviceEnv(use)

	tmp := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := tmp[k]; !ok {
			order = append(order, k)
		}
		tmp[k] = v
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			optional := ef.ConfigMapRef.Optional != nil && *ef.ConfigMapRef.Optional
			cm, err := src.ConfigMap(pod.Namespace, ef.ConfigMapRef.Name)
			if err != nil {
				return nil, err
			}
			if cm == nil {
				if optional {
					continue
				}
				return nil, &ConfigError{fmt.Sprintf("configmap %q not found", ef.ConfigMapRef.Name)}
			}
			keys := sortedKeys(cm.Data)
			for _, k := range keys {
				name := ef.Prefix + k
				if !validEnvName(name) {
					continue
				}
				put(name, cm.Data[k])
			}
		case ef.SecretRef != nil:
			optional := ef.SecretRef.Optional != nil && *ef.SecretRef.Optional
			s, err := src.Secret(pod.Namespace, ef.SecretRef.Name)
			if err != nil {
				return nil, err
			}
			if s == nil {
				if optional {
					continue
				}
				return nil, &ConfigError{fmt.Sprintf("secret %q not found", ef.SecretRef.Name)}
			}
			var keys []string
			for k := range s.Data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				name := ef.Prefix + k
				if !validEnvName(name) {
					continue
				}
				put(name, string(s.Data[k]))
			}
		}
	}
	for _, e := range c.Env {
		val := e.Value
		if val != "" {
			val = Expand(val, lookupIn(tmp, svcEnv))
		} else if e.ValueFrom != nil {
			vf := e.ValueFrom
			switch {
			case vf.ConfigMapKeyRef != nil:
				ref := vf.ConfigMapKeyRef
				optional := ref.Optional != nil && *ref.Optional
				cm, err := src.ConfigMap(pod.Namespace, ref.Name)
				if err != nil {
					return nil, err
				}
				if cm == nil {
					if optional {
						continue
					}
					return nil, &ConfigError{fmt.Sprintf("configmap %q not found", ref.Name)}
				}
				v, ok := cm.Data[ref.Key]
				if !ok {
					if optional {
						continue
					}
					return nil, &ConfigError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)}
				}
				val = v
			case vf.SecretKeyRef != nil:
				ref := vf.SecretKeyRef
				optional := ref.Optional != nil && *ref.Optional
				s, err := src.Secret(pod.Namespace, ref.Name)
				if err != nil {
					return nil, err
				}
				if s == nil {
					if optional {
						continue
					}
					return nil, &ConfigError{fmt.Sprintf("secret %q not found", ref.Name)}
				}
				v, ok := s.Data[ref.Key]
				if !ok {
					if optional {
						continue
					}
					return nil, &ConfigError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)}
				}
				val = string(v)
			case vf.FieldRef != nil:
				v, err := fieldRef(pod, vf.FieldRef.FieldPath)
				if err != nil {
					return nil, &ConfigError{err.Error()}
				}
				val = v
			case vf.ResourceFieldRef != nil:
				val = "0"
			}
		}
		put(e.Name, val)
	}
	r := &Resolved{EnvMap: map[string]string{}}
	for _, k := range order {
		r.Env = append(r.Env, EnvVar{k, tmp[k]})
		r.EnvMap[k] = tmp[k]
	}
	for _, k := range sortedKeys(svcEnv) {
		if _, ok := tmp[k]; !ok {
			r.Env = append(r.Env, EnvVar{k, svcEnv[k]})
			r.EnvMap[k] = svcEnv[k]
		}
	}
	look := lookupIn(r.EnvMap)
	for _, s := range c.Command {
		r.Command = append(r.Command, Expand(s, look))
	}
	for _, s := range c.Args {
		r.Args = append(r.Args, Expand(s, look))
	}
	return r, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
