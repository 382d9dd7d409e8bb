package fanout

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/store"
)

func TestPlan(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	eps := []hookrelay.Endpoint{
		{ID: "ep_all", AppID: "app_1"},
		{ID: "ep_contact", AppID: "app_1", FilterTypes: []string{"contact.*"}},
		{ID: "ep_call", AppID: "app_1", FilterTypes: []string{"call.completed"}},
		{ID: "ep_off", AppID: "app_1", Disabled: true},
		{ID: "ep_agent7", AppID: "app_1", Channels: []string{"agent-7"}},
		{ID: "ep_other_app", AppID: "app_2"},
	}
	contact := &hookrelay.Message{ID: "msg_1", AppID: "app_1", EventType: "contact.created", CreatedAt: now}
	onAgent7 := &hookrelay.Message{ID: "msg_2", AppID: "app_1", EventType: "call.completed", Channels: []string{"agent-7"}, CreatedAt: now}
	later := now.Add(time.Hour)
	scheduled := &hookrelay.Message{ID: "msg_3", AppID: "app_1", EventType: "contact.created", CreatedAt: now, DeliverAt: &later}
	only := func(id string) []string { return []string{id} }
	not := func(ids ...string) func(string) bool {
		return func(id string) bool { return !slices.Contains(ids, id) }
	}

	tests := []struct {
		name    string
		msg     *hookrelay.Message
		only    string
		lease   *store.LeaseParams
		want    []string // endpoint IDs, in candidate order
		leased  []string
		wantErr error
	}{
		{name: "filters and disabled", msg: contact, want: []string{"ep_all", "ep_contact"}},
		{name: "channels", msg: onAgent7, want: []string{"ep_all", "ep_call", "ep_agent7"}},
		{name: "only ignores filters", msg: contact, only: "ep_call", want: only("ep_call")},
		{name: "only ignores disabled", msg: contact, only: "ep_off", want: only("ep_off")},
		{name: "only of another app", msg: contact, only: "ep_other_app", wantErr: hookrelay.ErrNotFound},
		{name: "only unknown", msg: contact, only: "ep_nope", wantErr: hookrelay.ErrNotFound},
		{
			name: "lease up to max", msg: onAgent7,
			lease: &store.LeaseParams{Owner: "node", Until: now.Add(time.Minute), Max: 2},
			want:  []string{"ep_all", "ep_call", "ep_agent7"}, leased: []string{"ep_all", "ep_call"},
		},
		{
			name: "lease skips unwanted", msg: onAgent7,
			lease: &store.LeaseParams{Owner: "node", Until: now.Add(time.Minute), Max: 2, Want: not("ep_all")},
			want:  []string{"ep_all", "ep_call", "ep_agent7"}, leased: []string{"ep_call", "ep_agent7"},
		},
		{
			name: "deliverAt is never leased", msg: scheduled,
			lease: &store.LeaseParams{Owner: "node", Until: now.Add(time.Minute), Max: 2},
			want:  []string{"ep_all", "ep_contact"},
		},
		{
			name: "lease max zero", msg: contact,
			lease: &store.LeaseParams{Owner: "node", Until: now.Add(time.Minute), Max: 0},
			want:  []string{"ep_all", "ep_contact"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := store.CreateMessageParams{Message: tt.msg, OnlyEndpointID: tt.only, Lease: tt.lease}
			res, err := Plan(p, eps, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var got, leased, tasks []string
			ids := map[string]bool{}
			for _, d := range res.Deliveries {
				got = append(got, d.Endpoint.ID)
				if d.Leased {
					leased = append(leased, d.Endpoint.ID)
				}
				if ids[d.ID] || d.ID == "" {
					t.Errorf("delivery ID %q empty or repeated", d.ID)
				}
				ids[d.ID] = true
			}
			for _, task := range res.Tasks {
				tasks = append(tasks, task.Endpoint.ID)
				if !ids[task.Delivery.ID] || task.Delivery.MsgID != tt.msg.ID || task.Delivery.Status != hookrelay.StatusPending ||
					task.Delivery.NextAttempt == nil || !task.Delivery.NextAttempt.Equal(tt.msg.CreatedAt) || !task.Delivery.CreatedAt.Equal(now) {
					t.Errorf("task %+v does not describe a new pending delivery of the message", task.Delivery)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("deliveries to %v, want %v", got, tt.want)
			}
			if !slices.Equal(leased, tt.leased) || !slices.Equal(tasks, tt.leased) {
				t.Errorf("leased %v with tasks %v, want %v", leased, tasks, tt.leased)
			}
		})
	}
}

// Want is asked once per delivery at most, and no more once Max is reached:
// the dispatcher's Want reserves room as it answers yes.
func TestPlanAsksWantSparingly(t *testing.T) {
	eps := []hookrelay.Endpoint{{ID: "a", AppID: "app"}, {ID: "b", AppID: "app"}, {ID: "c", AppID: "app"}}
	var asked []string
	p := store.CreateMessageParams{
		Message: &hookrelay.Message{ID: "msg", AppID: "app", EventType: "x"},
		Lease:   &store.LeaseParams{Owner: "n", Max: 1, Want: func(id string) bool { asked = append(asked, id); return true }},
	}
	if _, err := Plan(p, eps, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, []string{"a"}) {
		t.Fatalf("Want asked for %v, want [a]", asked)
	}
}
