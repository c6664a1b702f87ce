package imageuser

import "testing"

func TestIsRoot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		user string
		want bool
	}{
		{"", true},
		{"root", true},
		{"0", true},
		{"0:0", true},
		{"root:root", true},
		{"root:65532", true},
		{"0:65532", true},
		{":0", true}, // no user: the default, root
		{"65532:65532", false},
		{"65532", false},
		{"nonroot", false},
		{"nonroot:nonroot", false},
		{"1000:0", false}, // group root, user not
		{"10", false},
		{"rooter", false},
		{"app:root", false},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			t.Parallel()
			if got := IsRoot(tt.user); got != tt.want {
				t.Errorf("IsRoot(%q) = %v, want %v", tt.user, got, tt.want)
			}
		})
	}
}

// TestIsRootNumericSpellings: the runtime parses a numeric USER with
// strconv.Atoi (moby/sys/user), so "00" and "+0" are uid 0 too.
func TestIsRootNumericSpellings(t *testing.T) {
	t.Parallel()
	for _, user := range []string{"00", "000:0", "+0"} {
		t.Run(user, func(t *testing.T) {
			if !IsRoot(user) {
				t.Errorf("IsRoot(%q) = false; the runtime reads it as uid 0", user)
			}
		})
	}
}
