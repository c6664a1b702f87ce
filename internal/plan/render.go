package plan

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the plan for people: one row per target and tag.
func (p Plan) WriteTable(w io.Writer) error {
	if p.Service != "" {
		fmt.Fprintf(w, "service: %s\n", p.Service)
	}
	fmt.Fprintf(w, "event:   %s %s\ncommit:  %s (short %s)\nversion: %s\npush:    %t\n",
		p.Event, p.Ref, p.Commit, p.Short, p.Version, p.Push)
	if p.Skipped != "" {
		fmt.Fprintf(w, "skipped: %s\n", p.Skipped)
	}
	if p.Reason != "" && p.Skipped == "" {
		fmt.Fprintf(w, "note:    %s\n", p.Reason)
	}
	if len(p.Images) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTAGE\tPLATFORMS\tTAG\tKIND")
	for _, img := range p.Images {
		platforms := strings.Join(img.Platforms, ",")
		if len(img.Tags) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t(build only)\t\n", img.Target, img.Stage, platforms)
		}
		for _, tag := range img.Tags {
			kind := "immutable"
			if slices.Contains(img.Moving, tag) {
				kind = "moving"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", img.Target, img.Stage, platforms, tag, kind)
		}
	}
	return tw.Flush()
}
