//go:build race

package delivery_test

// raceEnabled is set when the tests run with -race, which multiplies
// memory and time: measurements of either are skipped.
const raceEnabled = true
