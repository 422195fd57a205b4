package standin

import (
	"context"
	"testing"
	"time"
)

func TestZZTiming(t *testing.T) {
	t0 := time.Now()
	h, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("start", time.Since(t0))
	for i := 0; i < 3; i++ {
		t0 = time.Now()
		if _, err := h.Seed(context.Background(), "library/alpine", "1"); err != nil {
			t.Fatal(err)
		}
		t.Log("seed", time.Since(t0))
	}
	t0 = time.Now()
	h.Close()
	t.Log("close", time.Since(t0))
}
