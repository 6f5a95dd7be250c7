package kubelet

import "testing"

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b-$(A)", "EMPTY": "", "LONG_NAME": "x,y"}
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "a"},
		{"$(A)$(A)", "aa"},
		{"x$(A)y", "xay"},
		{"$(B)", "b-$(A)"}, // values are not expanded again
		{"$(EMPTY)", ""},
		{"$(UNDEF)", "$(UNDEF)"},
		{"pre-$(UNDEF)-post", "pre-$(UNDEF)-post"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$a"},
		{"$$$$(A)", "$$(A)"},
		{"$$", "$"},
		{"$", "$"},
		{"a$", "a$"},
		{"$a", "$a"},
		{"$ab$(A)", "$aba"},
		{"$(", "$("},
		{"$(A", "$(A"},
		{"$(A$(A)", "$(A$(A)"}, // name "A$(A" is undefined
		{"$()", "$()"},
		{"$(LONG_NAME)", "x,y"},
		{"-storageNode=$(A),$(UNDEF),$$", "-storageNode=a,$(UNDEF),$"},
		{"ü$(A)ü", "üaü"},
	}
	for _, c := range cases {
		if got := Expand(c.in, lookupIn(vars)); got != c.want {
			t.Errorf("Expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLookupOrder(t *testing.T) {
	l := lookupIn(map[string]string{"X": "first"}, map[string]string{"X": "second", "Y": "y"})
	if v, _ := l("X"); v != "first" {
		t.Fatalf("X = %q", v)
	}
	if v, _ := l("Y"); v != "y" {
		t.Fatalf("Y = %q", v)
	}
	if _, ok := l("Z"); ok {
		t.Fatal("Z found")
	}
}
