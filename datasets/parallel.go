package datasets

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor calls f(0..n-1) on GOMAXPROCS goroutines. It stops early on
// failure and returns the error of the lowest failing index it saw.
func parallelFor(n int, f func(i int) error) error {
	var (
		next    atomic.Int64
		stop    atomic.Bool
		mu      sync.Mutex
		errIdx  = n
		err     error
		wg      sync.WaitGroup
		workers = max(1, min(runtime.GOMAXPROCS(0), n))
	)
	for range workers {
		wg.Go(func() {
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if e := f(i); e != nil {
					mu.Lock()
					if i < errIdx {
						errIdx, err = i, e
					}
					mu.Unlock()
					stop.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return err
}
