package delivery_test

import (
	"slices"
	"testing"

	"github.com/hookrelay/hookrelay"
	"github.com/hookrelay/hookrelay/internal/delivery"
	"github.com/hookrelay/hookrelay/internal/store"
)

func TestObserversTellEachInOrder(t *testing.T) {
	var heard []string
	named := func(name string) delivery.Observer {
		return observerFunc(func(task store.Task, _ store.AttemptResult) { heard = append(heard, name+":"+task.Delivery.ID) })
	}
	delivery.Observers{named("a"), named("b")}.AttemptRecorded(store.Task{Delivery: hookrelay.Delivery{ID: "dlv_1"}}, store.AttemptResult{})
	if want := []string{"a:dlv_1", "b:dlv_1"}; !slices.Equal(heard, want) {
		t.Fatalf("heard %v, want %v", heard, want)
	}
}
