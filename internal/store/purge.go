package store

import "time"

// HistoryScan decides one batch of a history purge (PurgeMessages): fed the
// batch's messages in ID order, it picks those that go and where the next
// batch starts. Drivers read the rows and delete what it picked.
type HistoryScan struct {
	// Result is the batch's outcome so far: Cursor and Scanned; Finish
	// sets Done. The driver adds Removed and Attempts.
	Result PurgeResult
	// Gone are the messages to remove, with their deliveries and attempts.
	Gone []string

	before time.Time
	limit  int
	young  bool
}

// NewHistoryScan starts the scan of one batch of p.
func NewHistoryScan(p PurgeParams) *HistoryScan {
	return &HistoryScan{Result: PurgeResult{Cursor: p.Cursor}, before: p.Before, limit: p.Limit}
}

// Row takes the next message: created at created, its payload expired (or
// gone), and whether a delivery of it is pending. A message goes when it was
// created before the history horizon, its payload has expired and nothing
// of it is pending. Row returns false at the first message created at or
// after the horizon: IDs follow creation time, so the rest are younger
// still and the caller stops reading.
func (s *HistoryScan) Row(id string, created time.Time, expired, pending bool) bool {
	if !created.Before(s.before) {
		s.young = true
		return false
	}
	s.Result.Scanned++
	s.Result.Cursor = id
	if expired && !pending {
		s.Gone = append(s.Gone, id)
	}
	return true
}

// Finish ends the batch: Done is set when the scan reached messages too
// young to go, or the end of the table.
func (s *HistoryScan) Finish() PurgeResult {
	s.Result.Done = s.young || s.Result.Scanned < s.limit
	return s.Result
}
