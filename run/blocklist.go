package run

import (
	"time"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
	"github.com/softnet/softnet/dp/edrop/blocklist"
)

// configBlocklists reads the blocklists of cfg for the control plane
// (control.SetConfigBlocklists): each file is read and hashed; one that
// ctl already has in force from the same bytes, file, match and
// interfaces (reload) is left as it is (Table nil), the others are parsed
// and built. Errors point at the config's lines (and the list file's).
func configBlocklists(cfg *config.Config, ctl *control.Router) ([]control.ConfigBlocklist, config.Errors) {
	var out []control.ConfigBlocklist
	var errs config.Errors
	for i, b := range cfg.Blocklists {
		c := control.ConfigBlocklist{BlocklistConfig: control.BlocklistConfig{Name: b.Name, File: absPath(cfg, b.File), Match: b.Match, Interfaces: b.Interfaces}}
		data, sum, err := cfg.ReadBlocklist(i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Sum = sum
		if !ctl.BlocklistCurrent(c.BlocklistConfig, sum) {
			start := time.Now()
			e, err := cfg.ParseBlocklist(i, data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			data = nil
			c.Masked, c.FirstMasked = e.Masked, e.FirstMasked
			c.Table = blocklist.Build(e)
			c.Took = time.Since(start)
		}
		out = append(out, c)
	}
	return out, errs
}
