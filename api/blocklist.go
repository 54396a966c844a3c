package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/softnet/softnet/config"
	"github.com/softnet/softnet/control"
)

// Blocklist is one blocklist of the early-drop stage in GET
// /v1/blocklists: its file, match (src or dst), interfaces (none: every
// port), entries (IPv4 and IPv6), lookup memory, drops and the seconds its
// last load or change took. Entries lists its addresses and prefixes when
// asked (?name=N&entries=MAX).
type Blocklist struct {
	control.BlocklistInfo
	List []string `json:"list,omitempty"`
}

// BlocklistLoad is the body of POST /v1/blocklists: load (or reload)
// blocklist Name from File, a path on the router's host.
type BlocklistLoad struct {
	Name       string   `json:"name"`
	File       string   `json:"file"`
	Match      string   `json:"match,omitempty"` // src (default) or dst
	Interfaces []string `json:"interfaces,omitempty"`
}

// BlocklistEdit is the body of POST /v1/blocklists/entries: add (Op
// "add") or delete (Op "del") Entries to or from blocklist Name.
type BlocklistEdit struct {
	Name    string   `json:"name"`
	Op      string   `json:"op"`
	Entries []string `json:"entries"`
}

func (s *Server) blocklists(w http.ResponseWriter, r *http.Request) {
	name, max, err := entriesQuery(r, "list")
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	out := []Blocklist{}
	found := false
	for _, b := range s.src.Control().Blocklists() {
		if name != "" && b.Name != name {
			continue
		}
		found = true
		o := Blocklist{BlocklistInfo: b}
		if r.URL.Query().Has("entries") {
			l, err := s.src.Control().BlocklistEntries(b.Name, max)
			if err != nil {
				Error(w, http.StatusNotFound, err)
				return
			}
			o.List = l
		}
		out = append(out, o)
	}
	if name != "" && !found {
		Error(w, http.StatusNotFound, fmt.Errorf("no blocklist %q (softnet blocklist show lists them)", name))
		return
	}
	JSON(w, http.StatusOK, out)
}

func (s *Server) blocklistLoad(w http.ResponseWriter, r *http.Request) {
	var req BlocklistLoad
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	if req.Name != "" && !config.ValidName(req.Name) {
		Error(w, http.StatusBadRequest, fmt.Errorf("blocklist %q: a name is 1..32 letters, digits, '-', '_' and '.' (as in the config), e.g. attackers", req.Name))
		return
	}
	info, err := s.src.Control().LoadBlocklist(control.BlocklistConfig{Name: req.Name, File: req.File, Match: req.Match, Interfaces: req.Interfaces})
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	JSON(w, http.StatusOK, Blocklist{BlocklistInfo: info})
}

func (s *Server) blocklistEdit(w http.ResponseWriter, r *http.Request) {
	var req BlocklistEdit
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	if req.Op != "add" && req.Op != "del" {
		Error(w, http.StatusBadRequest, fmt.Errorf("blocklist entries: op %q: want add or del", req.Op))
		return
	}
	if len(req.Entries) == 0 {
		Error(w, http.StatusBadRequest, fmt.Errorf("blocklist entries: give at least one address or prefix"))
		return
	}
	info, err := s.src.Control().BlocklistChange(req.Name, req.Entries, req.Op == "del")
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	JSON(w, http.StatusOK, Blocklist{BlocklistInfo: info})
}

// Blocklists returns the blocklists (name "": all); with entries >= 0 also
// list's entries (at most entries; 0: all).
func (c *Client) Blocklists(ctx context.Context, name string, entries int) (out []Blocklist, err error) {
	q := "/v1/blocklists"
	sep := "?"
	if name != "" {
		q += "?name=" + url.QueryEscape(name)
		sep = "&"
	}
	if entries >= 0 {
		q += sep + "entries=" + strconv.Itoa(entries)
	}
	err = c.get(ctx, q, &out)
	return
}

// LoadBlocklist loads or reloads a blocklist.
func (c *Client) LoadBlocklist(ctx context.Context, req BlocklistLoad) (out Blocklist, err error) {
	err = c.Do(ctx, http.MethodPost, "/v1/blocklists", req, &out)
	return
}

// EditBlocklist adds or deletes entries.
func (c *Client) EditBlocklist(ctx context.Context, req BlocklistEdit) (out Blocklist, err error) {
	err = c.Do(ctx, http.MethodPost, "/v1/blocklists/entries", req, &out)
	return
}

// entriesQuery reads the name= and entries= parameters of a listing
// (blocklists, filter tables): entries=N (0: all) lists the entries of
// the one named, what being the kind of object named in the error.
func entriesQuery(r *http.Request, what string) (name string, max int, err error) {
	name = r.URL.Query().Get("name")
	if v := r.URL.Query().Get("entries"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return "", 0, fmt.Errorf("entries=%q: give the number of entries to list (0: all)", v)
		}
		if name == "" {
			return "", 0, fmt.Errorf("entries= needs name=: the %s whose entries to show", what)
		}
		max = n
	}
	return name, max, nil
}
