package delivery

// ViaNetHTTP returns cfg set to send without a proxy through net/http's
// transport, as sends through a proxy do, instead of the h1 client.
func ViaNetHTTP(cfg Config) Config {
	cfg.viaNetHTTP = true
	return cfg
}
