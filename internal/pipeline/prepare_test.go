package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/gantry-build/gantry/internal/event"
	"github.com/gantry-build/gantry/internal/gittest"
	"github.com/gantry-build/gantry/internal/run"
	"github.com/gantry-build/gantry/magetools/config"
)

func TestPrepare(t *testing.T) {
	tests := []struct {
		name    string
		prepare []string
		dirty   bool // the tree was dirty before
		want    []string
		wantErr string
		status  int // the exit status the error keeps
	}{
		{name: "no command: nothing runs"},
		{name: "writes what git ignores", prepare: []string{"sh", "-c", "mkdir -p web/dist && echo ui > web/dist/index.html"},
			want: []string{"web/dist/index.html"}},
		{name: "writes what git would commit: refused", prepare: []string{"touch", "generated.go"},
			want: []string{"generated.go"}, wantErr: "add what it generates to .gitignore"},
		{name: "a tree dirty before is not judged", prepare: []string{"touch", "generated.go"}, dirty: true,
			want: []string{"generated.go"}},
		{name: "a failing command keeps its exit status", prepare: []string{"sh", "-c", "exit 3"},
			wantErr: "fix the command or Config.Prepare", status: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := gittest.NewRepo(t)
			gittest.Commit(t, dir, ".gitignore", "web/dist/\n", "2024-01-02T03:04:05Z")
			logger, _ := logtest.NewNullLogger()
			r := Run{Config: config.Config{Dir: dir, Prepare: tt.prepare}, Event: event.Context{Dirty: tt.dirty}, Log: logrus.NewEntry(logger)}
			err := r.Prepare(context.Background())
			if tt.wantErr != "" {
				wantErr(t, err, tt.wantErr)
			} else if err != nil {
				t.Fatal(err)
			}
			var exit *run.ExitError
			if tt.status != 0 && (!errors.As(err, &exit) || exit.ExitStatus() != tt.status) {
				t.Errorf("error %v does not keep exit status %d", err, tt.status)
			}
			for _, f := range tt.want {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("prepare did not write %s: %v", f, err)
				}
			}
		})
	}
}
