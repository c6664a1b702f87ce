package plan

import (
	"fmt"
	"io"
)

// Skip returns p building and pushing nothing, with why: a push to the
// publishing branch that changes nothing a service is built from
// (internal/inputs) gives it no new tag at all, so that no tag names
// bytes built from another commit's source, and its moving tags stay on
// the image of the commit that last changed it.
func (p Plan) Skip(reason string) Plan {
	p.Images = []Image{}
	p.Push = false
	p.Skipped = reason
	p.Reason = "skipped: " + reason
	return p
}

// WriteTables prints the plans of several services, one after the other.
func WriteTables(w io.Writer, plans []Plan) error {
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := p.WriteTable(w); err != nil {
			return err
		}
	}
	return nil
}
