package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

// refusingStore is the real store whose CompleteAttempts fails, as one
// statement does, for any batch holding a result that refuse picks, while
// everything else (Ping included) works.
type refusingStore struct {
	store.Store
	mu      sync.Mutex
	refuse  func(store.AttemptResult) bool
	refused atomic.Int32
}

// errNUL is what PostgreSQL answered for a text holding a NUL byte.
var errNUL = errors.New(`complete attempts: ERROR: invalid byte sequence for encoding "UTF8": 0x00 (SQLSTATE 22021)`)

func (s *refusingStore) setRefuse(f func(store.AttemptResult) bool) {
	s.mu.Lock()
	s.refuse = f
	s.mu.Unlock()
}

func (s *refusingStore) CompleteAttempts(ctx context.Context, results []store.AttemptResult) error {
	s.mu.Lock()
	refuse := s.refuse
	s.mu.Unlock()
	for _, r := range results {
		if refuse != nil && refuse(r) {
			s.refused.Add(1)
			return errNUL
		}
	}
	return s.Store.CompleteAttempts(ctx, results)
}

const binaryBody = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

// requestsFor counts the requests whose body is payload.
func requestsFor(rc *receiver, payload string) int {
	n := 0
	for _, r := range rc.requests() {
		if string(r.body) == payload {
			n++
		}
	}
	return n
}

// TestUnstorableBodyIsRecordedWithoutIt: the store refuses a result for its
// response body (PostgreSQL did for a NUL byte). The attempt is recorded
// with the reason in place of the body, the delivery succeeds, the other
// results are not held back, and no message is sent twice however long
// one waits.
func TestUnstorableBodyIsRecordedWithoutIt(t *testing.T) {
	f := newFixture(t)
	var rc *receiver
	rc = newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.Contains(string(rc.requests()[n-1].body), "bad") {
			_, _ = w.Write([]byte(binaryBody))
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	ep := f.endpoint(rc.URL, nil)
	rs := &refusingStore{Store: f.st}
	rs.setRefuse(func(r store.AttemptResult) bool { return strings.IndexByte(r.Attempt.Response, 0) >= 0 })
	cfg := baseConfig(rs)
	cfg.LeaseTTL = 400 * time.Millisecond
	var observed atomic.Int32
	cfg.Observer = observerFunc(func(store.Task, store.AttemptResult) { observed.Add(1) })
	d, _ := startDispatcher(t, cfg)

	bad := f.publish(ep.ID, `{"bad":true}`)
	msgs := []*hookrelay.Message{bad}
	for i := range 10 {
		msgs = append(msgs, f.publish(ep.ID, fmt.Sprintf(`{"i":%d}`, i)))
	}
	d.Wake()
	waitFor(t, 10*time.Second, "every delivery to succeed", func() bool {
		for _, m := range msgs {
			if f.deliveryOf(m.ID, ep.ID).Status != hookrelay.StatusSuccess {
				return false
			}
		}
		return true
	})
	if rs.refused.Load() == 0 {
		t.Fatal("the store never refused the binary body")
	}
	as := f.attempts(bad.ID)
	if len(as) != 1 {
		t.Fatalf("%d attempts of the message with the binary answer, want 1", len(as))
	}
	a := as[0]
	if a.Status != hookrelay.StatusSuccess || a.ResponseStatusCode != 200 ||
		!strings.HasPrefix(a.Response, "response not stored: ") || !strings.Contains(a.Response, "invalid byte sequence") {
		t.Errorf("attempt: status %d code %d response %q, want a success with the reason the body was not stored",
			a.Status, a.ResponseStatusCode, a.Response)
	}
	for _, m := range msgs[1:] {
		if as := f.attempts(m.ID); len(as) != 1 || as[0].Response != "ok" {
			t.Errorf("message %s: attempts %+v, want one with response ok", m.ID, as)
		}
	}
	// Well past several leases, nothing was sent again.
	deadline := time.Now().Add(4 * cfg.LeaseTTL)
	for time.Now().Before(deadline) {
		if n := rc.count(); n > len(msgs) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := rc.count(); n != len(msgs) {
		t.Errorf("the receiver got %d requests for %d messages", n, len(msgs))
	}
	if n := requestsFor(rc, `{"bad":true}`); n != 1 {
		t.Errorf("the message with the binary answer was sent %d times, want 1", n)
	}
	waitFor(t, time.Second, "the observer", func() bool { return observed.Load() == int32(len(msgs)) })
}

// TestUnrecordableResultKeepsItsLease: while the store refuses a result
// whatever it holds, the result is retried and its delivery stays leased
// to the node that sent it: no other claim gets it and it is not sent
// again. Once the store takes it, it is recorded.
func TestUnrecordableResultKeepsItsLease(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t, nil)
	ep := f.endpoint(rc.URL, nil)
	m := f.publish(ep.ID, `{"stuck":true}`)
	dlv := f.deliveryOf(m.ID, ep.ID).ID
	rs := &refusingStore{Store: f.st}
	rs.setRefuse(func(r store.AttemptResult) bool { return r.Attempt.DeliveryID == dlv })
	cfg := baseConfig(rs)
	cfg.LeaseTTL = 300 * time.Millisecond
	d, _ := startDispatcher(t, cfg)
	d.Wake()
	waitFor(t, 3*time.Second, "the request", func() bool { return rc.count() == 1 })
	waitFor(t, 3*time.Second, "the body-less retry to be refused too", func() bool { return rs.refused.Load() >= 4 })

	// Well past the lease: another claimer finds nothing, nothing is sent
	// again, and the store is asked again.
	before := rs.refused.Load()
	deadline := time.Now().Add(5 * cfg.LeaseTTL)
	for time.Now().Before(deadline) {
		tasks, err := f.st.ClaimDeliveries(context.Background(), store.ClaimParams{
			Owner: "intruder", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) != 0 {
			t.Fatalf("another node claimed %s while its result waited to be recorded", tasks[0].Delivery.ID)
		}
		if n := rc.count(); n != 1 {
			t.Fatalf("the message was sent %d times while its result waited to be recorded", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rs.refused.Load() == before {
		t.Errorf("the result was not retried in %v", 5*cfg.LeaseTTL)
	}
	if st := f.deliveryOf(m.ID, ep.ID).Status; st == hookrelay.StatusSuccess {
		t.Fatalf("delivery status %d before its result was recorded", st)
	}

	rs.setRefuse(nil)
	waitFor(t, 10*time.Second, "the delivery to succeed", func() bool {
		return f.deliveryOf(m.ID, ep.ID).Status == hookrelay.StatusSuccess
	})
	if as := f.attempts(m.ID); len(as) != 1 || as[0].ResponseStatusCode != 200 {
		t.Errorf("attempts %+v, want one with code 200", as)
	}
	if n := rc.count(); n != 1 {
		t.Errorf("the message was sent %d times, want 1", n)
	}
}
