package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/gantry-build/gantry/internal/git"
	"github.com/gantry-build/gantry/internal/run"
)

// Prepare runs the service's Prepare command (Config.Prepare) in its
// directory: it generates the inputs the commit does not hold, such as a
// web UI the binary embeds. A tree that was clean must stay clean: what
// the command writes must be ignored by git, or the image would be built
// from files that no commit names.
func (r Run) Prepare(ctx context.Context) error {
	argv := r.Config.Prepare
	if len(argv) == 0 {
		return nil
	}
	command := strings.Join(argv, " ")
	r.Log.WithField("command", command).Info("preparing generated inputs")
	if err := run.Run(ctx, run.Cmd{Name: argv[0], Args: argv[1:], Dir: r.Config.Dir, Log: r.Log}); err != nil {
		return fmt.Errorf("prepare (%s): %w; fix the command or Config.Prepare (GANTRY_PREPARE)", command, err)
	}
	if r.Event.Dirty {
		return nil
	}
	repo := git.Repo{Dir: r.Config.Dir}
	if !repo.IsRepo(ctx) {
		return nil
	}
	dirty, err := repo.Dirty(ctx)
	if err != nil {
		return fmt.Errorf("after prepare (%s): %w", command, err)
	}
	if dirty {
		return fmt.Errorf("prepare (%s) left the working tree dirty: add what it generates to .gitignore (`git status` lists it), so that the image is the commit plus what prepare generates", command)
	}
	return nil
}
