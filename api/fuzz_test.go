package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/softnet/softnet/api"
)

// FuzzRequests sends arbitrary bodies and query values to the endpoints
// that parse them: every answer is 200 or a 4xx with an error body, and
// the router keeps answering.
func FuzzRequests(f *testing.F) {
	r, _, _, _ := start(f, configText("", "", 1000))
	srv := api.New(r, nil)
	h := srv.Handler()
	f.Add(uint8(0), `{"prefix":"192.0.2.0/24","via":"10.0.2.2"}`)
	f.Add(uint8(1), `{"interface":"wan0","address":"10.0.2.9","mac":"02:00:00:00:00:09"}`)
	f.Add(uint8(2), "192.0.2.0/24")
	f.Add(uint8(3), "198.18.0.1")
	f.Add(uint8(4), `{"file":"/nonexistent"}`)
	f.Add(uint8(0), `{"prefix":"0.0.0.0/0","blackhole":true}`)
	f.Add(uint8(5), "wan0")
	f.Fuzz(func(t *testing.T, which uint8, s string) {
		var req *http.Request
		switch which % 6 {
		case 0:
			req = httptest.NewRequest("POST", "/v1/routes", strings.NewReader(s))
		case 1:
			req = httptest.NewRequest("POST", "/v1/neighbors", strings.NewReader(s))
		case 2:
			req = httptest.NewRequest("DELETE", "/v1/routes?prefix="+url.QueryEscape(s), nil)
		case 3:
			req = httptest.NewRequest("GET", "/v1/routes?match="+url.QueryEscape(s), nil)
		case 4:
			req = httptest.NewRequest("POST", "/v1/reload", strings.NewReader(s))
		case 5:
			req = httptest.NewRequest("DELETE", "/v1/neighbors?interface="+url.QueryEscape(s)+"&address=10.0.2.9", nil)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200:
		case 400, 404, 422:
			var e api.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s: %d with body %q", req.Method, req.URL, w.Code, w.Body)
			}
		default:
			t.Fatalf("%s %s: status %d: %s", req.Method, req.URL, w.Code, w.Body)
		}
		g := httptest.NewRecorder()
		h.ServeHTTP(g, httptest.NewRequest("GET", "/v1/status", nil))
		if g.Code != 200 {
			t.Fatalf("status after %s %s: %d", req.Method, req.URL, g.Code)
		}
	})
}
