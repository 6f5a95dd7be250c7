package kubelet

import "strings"

// Expand replaces $(NAME) references in s the way the kubelet expands
// container env values, command and args:
//   - $(NAME) becomes the value of NAME when lookup finds it, and stays
//     "$(NAME)" verbatim when it does not;
//   - $$ is an escaped "$";
//   - a "$" followed by anything else, a "$(" with no closing ")", and a
//     trailing "$" are copied as written.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for i < len(s) {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		next := s[i+1]
		switch next {
		case '$':
			// "$$" -> "$"
			b.WriteByte('$')
			i += 2
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				// Unterminated reference: keep "$(" and go on after it.
				b.WriteString("$(")
				i += 2
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(")
				b.WriteString(name)
				b.WriteByte(')')
			}
			i += 2 + end + 1
		default:
			// A lone operator: keep it and the following byte.
			b.WriteByte('$')
			b.WriteByte(next)
			i += 2
		}
	}
	return b.String()
}

// lookupIn returns a lookup over maps, the first holding a name wins.
func lookupIn(maps ...map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, m := range maps {
			if v, ok := m[name]; ok {
				return v, true
			}
		}
		return "", false
	}
}
