package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// Concurrent writes of one endpoint, each of its own field, interleaved
// with secret rotations: every write is kept. A request that keeps losing
// the race may answer 409 conflict having changed nothing; the client then
// sends it again.
func TestConcurrentEndpointWritesLoseNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		h := newHarnessOn(t, open(t))
		var app applicationOut
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "race"}, &app)
		var ep endpointOut
		h.mustDo(http.StatusCreated, "POST", "/api/v1/app/"+app.ID+"/endpoint", testAdminToken,
			map[string]any{"url": "https://example.com/hook"}, &ep)
		path := "/api/v1/app/" + app.ID + "/endpoint/" + ep.ID
		var first endpointSecretOut
		h.mustDo(http.StatusOK, "GET", path+"/secret", testAdminToken, nil, &first)

		const rounds = 12
		keys := make([]string, rounds)
		for i := range keys {
			b := make([]byte, 24)
			_, _ = rand.Read(b)
			keys[i] = "whsec_" + base64.StdEncoding.EncodeToString(b)
		}
		// Each writer sends its rounds one after the other, so the last
		// round's value is the one its field must hold at the end.
		writers := []struct {
			name         string
			method, path string
			body         func(i int) any
		}{
			{"description", "PATCH", path, func(i int) any { return map[string]any{"description": fmt.Sprint("description ", i)} }},
			{"metadata", "PATCH", path, func(i int) any { return map[string]any{"metadata": map[string]string{"round": strconv.Itoa(i)}} }},
			{"filterTypes", "PATCH", path, func(i int) any { return map[string]any{"filterTypes": []string{fmt.Sprint("type.", i)}} }},
			{"rateLimit", "PATCH", path, func(i int) any { return map[string]any{"rateLimit": i + 1} }},
			{"headers", "PATCH", path + "/headers", func(i int) any { return map[string]any{"headers": map[string]string{"X-Round": strconv.Itoa(i)}} }},
			{"options", "PATCH", path + "/options", func(i int) any { return map[string]any{"timeoutSeconds": i + 1} }},
			{"rotate", "POST", path + "/secret/rotate", func(i int) any { return map[string]any{"key": keys[i]} }},
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		conflicts := map[string]int{}
		for _, wr := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					for try := 1; ; try++ {
						status, body, err := send(t.Context(), h, wr.method, wr.path, wr.body(i))
						if err != nil {
							t.Errorf("%s round %d: %v", wr.name, i, err)
							return
						}
						if status/100 == 2 {
							break
						}
						if status != http.StatusConflict || try == 50 {
							t.Errorf("%s round %d: status %d, body %s", wr.name, i, status, body)
							return
						}
						var eb errorBody
						if err := json.Unmarshal(body, &eb); err != nil || eb.Code != "conflict" || eb.Detail == "" {
							t.Errorf("%s round %d: 409 body %s is not a Svix conflict error", wr.name, i, body)
							return
						}
						mu.Lock()
						conflicts[wr.name]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		t.Logf("409 answers by writer: %v", conflicts)

		last := rounds - 1
		var got endpointOut
		h.mustDo(http.StatusOK, "GET", path, testAdminToken, nil, &got)
		check := func(field string, got, want any) {
			t.Helper()
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("%s: got %s, want %s (a concurrent write undid it)", field, g, w)
			}
		}
		check("description", got.Description, fmt.Sprint("description ", last))
		check("metadata", got.Metadata, map[string]string{"round": strconv.Itoa(last)})
		check("eventTypes", got.EventTypes, []string{fmt.Sprint("type.", last)})
		check("throttleRate", got.ThrottleRate, ptr(rounds))
		var headers endpointHeadersOut
		h.mustDo(http.StatusOK, "GET", path+"/headers", testAdminToken, nil, &headers)
		check("headers", headers.Headers, map[string]string{"X-Round": strconv.Itoa(last)})
		var options endpointOptionsOut
		h.mustDo(http.StatusOK, "GET", path+"/options", testAdminToken, nil, &options)
		check("options.timeoutSeconds", options.TimeoutSeconds, ptr(rounds))
		var secret endpointSecretOut
		h.mustDo(http.StatusOK, "GET", path+"/secret", testAdminToken, nil, &secret)
		check("secret", secret.Key, keys[last])
		stored, err := h.st.GetEndpoint(t.Context(), app.ID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		var olds []string
		for _, o := range stored.OldSecrets {
			olds = append(olds, o.Secret)
		}
		check("old secrets", olds, append([]string{first.Key}, keys[:last]...))
	})
}

// send makes one request from any goroutine: unlike harness.do, it reports
// failures as errors.
func send(ctx context.Context, h *harness, method, path string, body any) (int, []byte, error) {
	j, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL+path, bytes.NewReader(j))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// alwaysStale is a store on which every endpoint update loses the race.
type alwaysStale struct {
	store.Store
	updates atomic.Int64
}

func (s *alwaysStale) UpdateEndpoint(ctx context.Context, ep *hookrelay.Endpoint) error {
	s.updates.Add(1)
	return fmt.Errorf("update endpoint: %w", hookrelay.ErrStale)
}

// A write that keeps losing is tried endpointWriteTries times, then
// answered 409 in Svix's error format, having changed nothing.
func TestEndpointWriteThatKeepsLosingIsConflict(t *testing.T) {
	st := &alwaysStale{Store: openSQLite(t)}
	h := newHarnessOn(t, st)
	var app applicationOut
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app", testAdminToken, map[string]any{"name": "race"}, &app)
	var ep endpointOut
	h.mustDo(http.StatusCreated, "POST", "/api/v1/app/"+app.ID+"/endpoint", testAdminToken,
		map[string]any{"url": "https://example.com/hook", "description": "before"}, &ep)
	path := "/api/v1/app/" + app.ID + "/endpoint/" + ep.ID
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"PUT", "PUT", path, map[string]any{"url": "https://example.com/other"}},
		{"PATCH", "PATCH", path, map[string]any{"description": "after"}},
		{"PUT headers", "PUT", path + "/headers", map[string]any{"headers": map[string]string{"X-A": "1"}}},
		{"PATCH headers", "PATCH", path + "/headers", map[string]any{"headers": map[string]string{"X-A": "1"}}},
		{"PUT options", "PUT", path + "/options", map[string]any{"timeoutSeconds": 5}},
		{"PATCH options", "PATCH", path + "/options", map[string]any{"timeoutSeconds": 5}},
		{"rotate", "POST", path + "/secret/rotate", map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.updates.Load()
			status, body := h.do(tc.method, tc.path, testAdminToken, tc.body)
			if status != http.StatusConflict {
				t.Fatalf("status %d, body %s; want 409", status, body)
			}
			assertErrorBody(t, status, body, "conflict", nil)
			if n := st.updates.Load() - before; n != endpointWriteTries {
				t.Errorf("%d updates tried, want %d", n, endpointWriteTries)
			}
		})
	}
	stored, err := st.Store.GetEndpoint(t.Context(), app.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Description != "before" || stored.URL != "https://example.com/hook" || len(stored.Headers) != 0 ||
		stored.Options.TimeoutSeconds != 0 || len(stored.OldSecrets) != 0 || stored.Revision != 1 {
		t.Errorf("endpoint changed: %+v", stored)
	}
}
