//go:build race

package e2e

// raceEnabled builds the server under test with -race when the tests run
// with -race, so data races inside the server fail the run too.
const raceEnabled = true
