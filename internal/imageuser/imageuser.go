// Package imageuser decides whether an image's user is root, one rule for
// the Dockerfile's USER (mage check's prod-user) and the pushed image's
// config (publish's verification).
package imageuser

import (
	"strconv"
	"strings"
)

// IsRoot reports whether user, as in a Dockerfile's USER or an image
// config's User, runs as root: empty (the default), "root" or uid 0, with
// or without a group.
func IsRoot(user string) bool {
	u, _, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(u) // the runtime reads "00" or "+0" as uid 0 too
	return u == "" || u == "root" || err == nil && uid == 0
}
