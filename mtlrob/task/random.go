package task

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
)

// Random returns a map of the K = len(sourceClasses) classes onto km
// auxiliary classes named "0".."km-1", drawn uniformly from all surjective
// maps: the "random selection" of 001 §III-B. The same arguments always give
// the same map; different seeds give independent draws. It needs
// 2 <= km < K.
//
// Sampling is exact: classes are assigned in order, each to an already used
// or a new auxiliary class with probability proportional to the number of
// surjective completions, counted with big integers (O(K·km) of them).
func Random(name string, sourceClasses []string, km int, seed int64) (Map, error) {
	k := len(sourceClasses)
	if km < 2 || km >= k {
		return Map{}, fmt.Errorf("task: map %q: random map onto %d classes from %d: want 2 <= K_m < K", name, km, k)
	}
	r := newRand(seed)
	// f[n][j]: the number of ways to assign n more classes when j auxiliary
	// classes are already used, such that all km end up used.
	f := make([][]*big.Int, k+1)
	for n := range f {
		f[n] = make([]*big.Int, km+1)
		for j := range f[n] {
			f[n][j] = new(big.Int)
			switch {
			case n == 0 && j == km:
				f[n][j].SetInt64(1)
			case n > 0:
				a := new(big.Int).Mul(big.NewInt(int64(j)), f[n-1][j])
				if j < km {
					a.Add(a, new(big.Int).Mul(big.NewInt(int64(km-j)), f[n-1][j+1]))
				}
				f[n][j] = a
			}
		}
	}
	perm := r.Perm(km) // the order in which auxiliary labels are first used
	table := make([]int, k)
	used := 0
	for y := range table {
		n := k - y
		u := randBelow(r, f[n][used])
		old := new(big.Int).Mul(big.NewInt(int64(used)), f[n-1][used])
		if u.Cmp(old) < 0 {
			i := new(big.Int).Quo(u, f[n-1][used]).Int64()
			table[y] = perm[i]
			continue
		}
		table[y] = perm[used]
		used++
	}
	desc := fmt.Sprintf("uniformly random surjective map onto %d classes (seed %d)", km, seed)
	return fromTable(name, desc, sourceClasses, numbered(km), table)
}

// RandomBalanced returns a random map of the K = len(sourceClasses) classes
// onto km auxiliary classes named "0".."km-1" whose groups differ in size by
// at most one, drawn uniformly from all such maps. The same arguments always
// give the same map. It needs 2 <= km < K.
func RandomBalanced(name string, sourceClasses []string, km int, seed int64) (Map, error) {
	k := len(sourceClasses)
	if km < 2 || km >= k {
		return Map{}, fmt.Errorf("task: map %q: balanced random map onto %d classes from %d: want 2 <= K_m < K", name, km, k)
	}
	r := newRand(seed)
	targets := r.Perm(km) // which auxiliary classes get the larger groups
	table := make([]int, k)
	for i, y := range r.Perm(k) {
		table[y] = targets[i%km]
	}
	desc := fmt.Sprintf("random balanced map onto %d classes (seed %d)", km, seed)
	return fromTable(name, desc, sourceClasses, numbered(km), table)
}

// newRand returns the generator behind Random and RandomBalanced.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6d746c726f62)) // "mtlrob"
}

// randBelow returns a uniform integer in [0, n), n > 0, by rejection.
func randBelow(r *rand.Rand, n *big.Int) *big.Int {
	bits := n.BitLen()
	buf := make([]byte, (bits+7)/8)
	u := new(big.Int)
	for {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		if extra := len(buf)*8 - bits; extra > 0 {
			buf[0] &= 0xff >> extra
		}
		if u.SetBytes(buf).Cmp(n) < 0 {
			return u
		}
	}
}

// numbered returns the class names "0".."n-1".
func numbered(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names
}
