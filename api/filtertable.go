package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/softnet/softnet/control"
)

// FilterTable is one named table of the filter in GET
// /v1/filter/tables; List its entries when asked (entries=N).
type FilterTable struct {
	control.FilterTableInfo
	List []string `json:"list,omitempty"`
}

// FilterTableEdit is the body of POST /v1/filter/tables/entries: add (Op
// "add") or delete (Op "del") Entries to or from table Name.
type FilterTableEdit struct {
	Name    string   `json:"name"`
	Op      string   `json:"op"`
	Entries []string `json:"entries"`
}

func (s *Server) filterTables(w http.ResponseWriter, r *http.Request) {
	name, max, err := entriesQuery(r, "table")
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	out := []FilterTable{}
	found := false
	for _, t := range s.src.Control().FilterTables() {
		if name != "" && t.Name != name {
			continue
		}
		found = true
		o := FilterTable{FilterTableInfo: t}
		if r.URL.Query().Has("entries") {
			l, err := s.src.Control().FilterTableEntries(t.Name, max)
			if err != nil {
				Error(w, http.StatusNotFound, err)
				return
			}
			o.List = l
		}
		out = append(out, o)
	}
	if name != "" && !found {
		Error(w, http.StatusNotFound, fmt.Errorf("no filter table <%s> (softnet table show lists them; tables are defined under filter.tables in the config)", name))
		return
	}
	JSON(w, http.StatusOK, out)
}

func (s *Server) filterTableEdit(w http.ResponseWriter, r *http.Request) {
	var req FilterTableEdit
	if err := decode(w, r, &req); err != nil {
		Error(w, bodyStatus(err), err)
		return
	}
	if req.Op != "add" && req.Op != "del" {
		Error(w, http.StatusBadRequest, fmt.Errorf("filter table entries: op %q: want add or del", req.Op))
		return
	}
	if len(req.Entries) == 0 {
		Error(w, http.StatusBadRequest, fmt.Errorf("filter table entries: give at least one address or prefix"))
		return
	}
	info, err := s.src.Control().FilterTableChange(req.Name, req.Entries, req.Op == "del")
	if err != nil {
		Error(w, http.StatusBadRequest, err)
		return
	}
	JSON(w, http.StatusOK, FilterTable{FilterTableInfo: info})
}

// FilterTables returns the filter's named tables (name "": all); with
// entries >= 0 also the table's entries (at most entries; 0: all).
func (c *Client) FilterTables(ctx context.Context, name string, entries int) (out []FilterTable, err error) {
	q := "/v1/filter/tables"
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

// EditFilterTable adds or deletes entries of a filter table.
func (c *Client) EditFilterTable(ctx context.Context, req FilterTableEdit) (out FilterTable, err error) {
	err = c.Do(ctx, http.MethodPost, "/v1/filter/tables/entries", req, &out)
	return
}
