package api

import (
	"fmt"
	"reflect"
)

// Svix renamed some request fields after v1.44.0: throttleRate for
// rateLimit, eventTypes for filterTypes (SDK 2.x). hookrelay accepts both
// names of a pair, from any client, with the same meaning; a body that
// gives both must give them the same value (null included), or it is 422
// naming the newer one.

// alias returns the value of a field that may come under its newer name
// (cur) or its older one (old), after checking that a body giving both
// gives one value.
func alias[T any](c *checker, cur opt[T], curName string, old opt[T], oldName string, prefix ...string) opt[T] {
	switch {
	case !cur.Set:
		return old
	case !old.Set:
		return cur
	}
	if cur.Null != old.Null || !reflect.DeepEqual(cur.V, old.V) {
		loc := append(append([]string{}, prefix...), curName)
		c.add(fmt.Sprintf("conflicts with %s, its older name: give one of them, or both with the same value", oldName), loc...)
	}
	return cur
}
