package git

import (
	"context"
	"fmt"
)

// TreeID returns the object ID of HEAD's tree at Dir (a directory of the
// repository; the whole tree when Dir is its top): one hash that changes
// with any committed file under Dir.
func (r Repo) TreeID(ctx context.Context) (string, error) {
	out, err := r.output(ctx, "rev-parse", "--verify", "HEAD:./")
	if err != nil {
		return "", fmt.Errorf("read HEAD's tree of %s: %w", r.Dir, err)
	}
	return out, nil
}
