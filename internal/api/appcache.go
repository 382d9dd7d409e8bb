package api

import (
	"sync"
	"time"

	"github.com/hookrelay/hookrelay"
)

const (
	// appCacheTTL is how long publishing trusts a resolved {app_id}. An
	// application deleted meanwhile cannot take messages (the store refuses
	// a message whose application is gone, and publish then looks again);
	// a uid moved to another application by another node may still route
	// a publish to the old holder for this long.
	appCacheTTL = 2 * time.Second
	// appCacheMax bounds the entries kept; the cache starts over when full.
	appCacheMax = 4096
)

// appCache maps an environment and an {app_id} path value (an ID or a
// uid) to the application it named a moment ago, so that publishing does
// not read the application on every message. Writes to applications on
// this node empty it.
type appCache struct {
	mu sync.Mutex
	m  map[appKey]appEntry
}

type appKey struct{ envID, idOrUID string }

type appEntry struct {
	app   *hookrelay.Application
	until time.Time
}

// get returns the cached application, or nil when absent or expired.
func (c *appCache) get(envID, idOrUID string, now time.Time) *hookrelay.Application {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[appKey{envID, idOrUID}]
	if !ok || now.After(e.until) {
		return nil
	}
	return e.app
}

func (c *appCache) put(envID, idOrUID string, app *hookrelay.Application, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= appCacheMax {
		c.m = make(map[appKey]appEntry)
	}
	c.m[appKey{envID, idOrUID}] = appEntry{app: app, until: now.Add(appCacheTTL)}
}

// reset forgets every entry.
func (c *appCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}
