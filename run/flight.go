package run

import (
	"errors"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
)

func init() {
	// softnet check and reload check the config's drop reasons against
	// the data path's.
	config.KnownReason = func(s string) bool { return len(control.ReasonsNamed(s)) > 0 }
}

// applyCaptures makes the router's always-on captures cfg's (control.Flight);
// an error is a config.Errors at the capture's line.
func applyCaptures(ctl *control.Router, cfg *config.Config) error {
	var caps []control.FlightCapture
	for _, c := range cfg.Captures {
		caps = append(caps, control.FlightCapture{Name: c.Name, Interface: c.Interface, Point: c.Point, Reason: c.Reason,
			Filter: c.Filter, Snaplen: c.Snaplen, Path: cfg.Path(c.Path), MaxSize: c.MaxSize, MaxFiles: c.MaxFiles,
			Format: c.Format, Field: c.Field})
	}
	err := ctl.Flight().Apply(caps)
	if err == nil {
		return nil
	}
	var out config.Errors
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ce *control.CaptureError
		if errors.As(e, &ce) {
			out = append(out, cfg.Errorf(ce.Field, "%v", ce.Err))
		} else {
			out = append(out, &config.Error{File: cfg.File, Msg: e.Error()})
		}
	}
	return out
}
