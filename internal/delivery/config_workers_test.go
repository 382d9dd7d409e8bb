package delivery

import "testing"

func TestWorkersFor(t *testing.T) {
	tests := []struct {
		nofile uint64
		want   int
	}{
		{0, DefaultWorkers},       // unknown
		{1024, minWorkers},        // a common soft limit, nothing left after the reserve
		{4096, 1536},              // (4096-1024)/2
		{8192, 3584},              // (8192-1024)/2
		{20000, DefaultWorkers},   // this machine's limit: bounded by the default
		{1 << 20, DefaultWorkers}, // systemd's default hard limit
		{1 << 62, DefaultWorkers}, // RLIM_INFINITY-like
		{fdReserve + 2*minWorkers - 2, minWorkers},
	}
	for _, tt := range tests {
		if got := WorkersFor(tt.nofile); got != tt.want {
			t.Errorf("WorkersFor(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
}
