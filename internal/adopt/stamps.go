package adopt

import (
	"fmt"

	"github.com/gantry-build/gantry/internal/discover"
	"github.com/gantry-build/gantry/internal/golist"
	"github.com/gantry-build/gantry/internal/stampvars"
)

// decideStamps decides each stamp's -X target from the variables the
// binary links (g, as mage check reads them: stampvars), so that check
// passes what init writes: a build's target that sets a variable, else a
// variable the source declares, else the default when its variable
// exists, else off ("-"), with a note on how to add one. Without the
// graph (err), the defaults stay and the note says why.
func (l *Layout) decideStamps(repo discover.Repo, g golist.Graph, err error) {
	if _, ok := g.Main(); !ok && err == nil {
		err = fmt.Errorf("go list found no main package %s", l.MainPackage)
	}
	if err != nil {
		l.Notes = append(l.Notes, fmt.Sprintf("version stamps not looked for in the Go source: %v", err))
		for _, k := range discover.StampKinds {
			l.decide("stamp "+k.String(), "Stamp."+k.Field(), "main."+k.String(), "the default", false)
		}
		return
	}
	vars := stampvars.New(g)
	stamps, notes := repo.Stamps(vars)
	l.Notes = append(l.Notes, notes...)
	for _, k := range discover.StampKinds {
		def, field := "main."+k.String(), "Stamp."+k.Field()
		if s, ok := stamps[k]; ok {
			l.decide("stamp "+k.String(), field, s.Value, s.Source, s.Value != def)
			continue
		}
		if _, problem := vars.Check(def); problem != "" {
			// A default that sets nothing is left out of the build with a
			// warning; off says there is none, and check stays quiet.
			l.decide("stamp "+k.String(), field, "-", fmt.Sprintf("no string variable %s or other %s variable is declared: off", def, k), true)
			l.Notes = append(l.Notes, fmt.Sprintf("the %s stamp is off: to stamp it, declare `var %s string` in package main and remove magetools.Config.%s from the magefile, or set it to <import path>.<name>", k, k, field))
			continue
		}
		l.decide("stamp "+k.String(), field, def, "the default", false)
	}
}
