package task

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Candidate generators for the automatic search of self-defined tasks. 001 §III-B builds its auxiliary
// tasks from "user-established criteria ... or random selection" and leaves criteria for generating
// appropriate tasks as future work (001 §V); these generators provide the three families the search
// (experiment.LoadOrSearchTasks) draws from: seeded random partitions (Random, RandomBalanced), semantic
// partitions from WordNet (WordNetPartition), and data-driven partitions from a trained single-task model's
// confusion matrix (GroupConfusable, SeparateConfusable). Every generator returns a validated Map.

// ConfusionSimilarity returns the symmetrised confusion graph of a confusion matrix: with the rows of
// confusion normalised to rates (R[i][j] = confusion[i][j] / sum_j confusion[i][j], the share of class
// i's examples predicted as j), S[i][j] = (R[i][j] + R[j][i]) / 2 for i != j and S[i][i] = 0. confusion
// must be square (K x K, K >= 3), finite and non-negative; a row with no examples contributes rates 0.
func ConfusionSimilarity(confusion [][]float64) ([][]float64, error) {
	k := len(confusion)
	if k < 3 {
		return nil, fmt.Errorf("task: confusion matrix with %d rows: want K >= 3 classes", k)
	}
	rates := make([][]float64, k)
	for i, row := range confusion {
		if len(row) != k {
			return nil, fmt.Errorf("task: confusion matrix row %d has %d entries: want %d (a square matrix)", i, len(row), k)
		}
		var sum float64
		for j, v := range row {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("task: confusion[%d][%d] = %g: want a finite count >= 0", i, j, v)
			}
			sum += v
		}
		rates[i] = make([]float64, k)
		if sum > 0 {
			for j, v := range row {
				rates[i][j] = v / sum
			}
		}
	}
	s := make([][]float64, k)
	for i := range s {
		s[i] = make([]float64, k)
		for j := range s[i] {
			if i != j {
				s[i][j] = (rates[i][j] + rates[j][i]) / 2
			}
		}
	}
	return s, nil
}

// GroupConfusable returns the map of the K classes onto km groups that puts confusable classes together:
// average-linkage agglomerative clustering of the symmetrised confusion graph (ConfusionSimilarity),
// merging the two clusters of highest mean pairwise similarity until km remain (ties: the pair with the
// smallest class indices). Auxiliary class c is the cluster whose smallest class index is the c-th
// smallest, named "0".."km-1" as task.Random names them (Description lists the groups). The auxiliary
// task then asks a question the main head finds hard; the search measures whether that helps robustness.
// classes are the main task's classes (Main.Classes()), confusion its K x K confusion matrix (rows true
// class, columns prediction, e.g. metric.ConfusionMatrix); it needs 2 <= km < K.
func GroupConfusable(name string, classes []string, confusion [][]float64, km int) (Map, error) {
	sim, err := checkGenerator(name, classes, confusion, km)
	if err != nil {
		return Map{}, err
	}
	table := Agglomerate(sim, km)
	desc := fmt.Sprintf("confusable classes grouped: average-linkage clustering of the symmetrised confusion graph into %d groups: %s", km, strings.Join(groupNames(classes, table, km), "; "))
	return fromTable(name, desc, classes, numbered(km), table)
}

// SeparateConfusable returns the map of the K classes onto km groups that puts confusable classes apart
// (anti-clustering): the groups have sizes ceil(K/km) or floor(K/km), and the total within-group
// similarity of the symmetrised confusion graph (ConfusionSimilarity) is made small, greedily and then by
// pairwise swaps. Greedy: classes in decreasing order of their total confusion each go to the group, among
// those with room, of least similarity to its members so far (ties: the smaller group, then the lower
// index); then any swap of two classes in different groups that lowers the within-group total is made,
// until none does. The auxiliary head must then tell apart exactly the classes the main head confuses.
// Arguments and naming as in GroupConfusable.
func SeparateConfusable(name string, classes []string, confusion [][]float64, km int) (Map, error) {
	sim, err := checkGenerator(name, classes, confusion, km)
	if err != nil {
		return Map{}, err
	}
	table := AntiCluster(sim, km)
	desc := fmt.Sprintf("confusable classes separated: anti-clustering of the symmetrised confusion graph into %d balanced groups: %s", km, strings.Join(groupNames(classes, table, km), "; "))
	return fromTable(name, desc, classes, numbered(km), table)
}

// checkGenerator validates the common arguments of the confusion-based generators and returns the
// symmetrised confusion graph.
func checkGenerator(name string, classes []string, confusion [][]float64, km int) ([][]float64, error) {
	if len(confusion) != len(classes) {
		return nil, fmt.Errorf("task: map %q: confusion matrix of %d rows for %d classes: want one row per class", name, len(confusion), len(classes))
	}
	if km < 2 || km >= len(classes) {
		return nil, fmt.Errorf("task: map %q: %d groups for %d classes: want 2 <= K_m < K", name, km, len(classes))
	}
	sim, err := ConfusionSimilarity(confusion)
	if err != nil {
		return nil, fmt.Errorf("task: map %q: %w", name, err)
	}
	return sim, nil
}

// Agglomerate clusters the n items of the symmetric similarity matrix sim into k clusters by
// average-linkage agglomerative clustering (the two clusters of highest mean pairwise similarity merge
// first; ties go to the pair whose smallest members have the smallest indices) and returns each item's
// cluster, numbered in order of the clusters' smallest members. It needs 1 <= k <= n.
func Agglomerate(sim [][]float64, k int) []int {
	n := len(sim)
	clusters := make([][]int, n)
	for i := range clusters {
		clusters[i] = []int{i}
	}
	link := func(a, b []int) float64 {
		var s float64
		for _, i := range a {
			for _, j := range b {
				s += sim[i][j]
			}
		}
		return s / float64(len(a)*len(b))
	}
	for len(clusters) > k {
		bi, bj, best := -1, -1, math.Inf(-1)
		for i := range clusters {
			for j := i + 1; j < len(clusters); j++ {
				if l := link(clusters[i], clusters[j]); l > best {
					bi, bj, best = i, j, l
				}
			}
		}
		clusters[bi] = append(clusters[bi], clusters[bj]...)
		clusters = slices.Delete(clusters, bj, bj+1)
	}
	return labelClusters(n, clusters)
}

// AntiCluster splits the n items of the symmetric similarity matrix sim into k groups of sizes differing
// by at most one with small total within-group similarity (the greedy assignment and swap search of
// SeparateConfusable), and returns each item's group, numbered in order of the groups' smallest members.
// It needs 1 <= k <= n.
func AntiCluster(sim [][]float64, k int) []int {
	n := len(sim)
	total := make([]float64, n)
	for i := range n {
		for j := range n {
			total[i] += sim[i][j]
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case total[a] > total[b]:
			return -1
		case total[a] < total[b]:
			return 1
		}
		return 0
	})
	capacity := make([]int, k) // ceil for the first n%k groups, floor for the rest
	for g := range capacity {
		capacity[g] = n / k
		if g < n%k {
			capacity[g]++
		}
	}
	group := make([]int, n)
	members := make([][]int, k)
	for _, i := range order {
		best, bestCost := -1, math.Inf(1)
		for g := range k {
			if len(members[g]) >= capacity[g] {
				continue
			}
			var cost float64
			for _, j := range members[g] {
				cost += sim[i][j]
			}
			if cost < bestCost || cost == bestCost && len(members[g]) < len(members[best]) {
				best, bestCost = g, cost
			}
		}
		group[i] = best
		members[best] = append(members[best], i)
	}
	// Swaps keep the group sizes. within(i, g, skip) is i's similarity to the members of g other than
	// itself and skip; swapping i and j changes the within-group total by after - before below.
	within := func(i, g, skip int) float64 {
		var s float64
		for l := range n {
			if l != i && l != skip && group[l] == g {
				s += sim[i][l]
			}
		}
		return s
	}
	for improved := true; improved; {
		improved = false
		for i := range n {
			for j := i + 1; j < n; j++ {
				gi, gj := group[i], group[j]
				if gi == gj {
					continue
				}
				before := within(i, gi, j) + within(j, gj, i)
				after := within(i, gj, j) + within(j, gi, i)
				if after < before-1e-12 {
					group[i], group[j] = gj, gi
					improved = true
				}
			}
		}
	}
	clusters := make([][]int, k)
	for i, g := range group {
		clusters[g] = append(clusters[g], i)
	}
	return labelClusters(n, clusters)
}

// labelClusters numbers non-empty clusters in order of their smallest members.
func labelClusters(n int, clusters [][]int) []int {
	clusters = slices.DeleteFunc(slices.Clone(clusters), func(c []int) bool { return len(c) == 0 })
	for _, c := range clusters {
		slices.Sort(c)
	}
	slices.SortFunc(clusters, func(a, b []int) int { return a[0] - b[0] })
	out := make([]int, n)
	for g, c := range clusters {
		for _, i := range c {
			out[i] = g
		}
	}
	return out
}

// groupNames names each auxiliary class after its main classes, joined with "/".
func groupNames(classes []string, table []int, km int) []string {
	parts := make([][]string, km)
	for y, c := range table {
		parts[c] = append(parts[c], classes[y])
	}
	names := make([]string, km)
	for c, p := range parts {
		names[c] = strings.Join(p, "/")
	}
	return names
}

// WordNetPartition returns a semantic map of the classes sourceWnids (WordNet noun ids, e.g. Tiny
// ImageNet's) onto km groups: average-linkage agglomerative clustering (Agglomerate) with the similarity
// of two synsets the Jaccard index of their hypernym sets (each synset with all its ancestors), so
// classes under a common specific hypernym group first. It generalises MapByAncestor, which asks fixed
// hypernym questions (001 Table 1's natural/artefact and animal/machine/other), to any number of groups.
// Each auxiliary class is named after its classes' deepest common ancestor's lemma when it has one
// shared by no other group, else after its member wnids. It needs 2 <= km < len(sourceWnids); an unknown
// wnid is an error naming it.
func WordNetPartition(name string, wn *WordNet, sourceWnids []string, km int) (Map, error) {
	k := len(sourceWnids)
	if km < 2 || km >= k {
		return Map{}, fmt.Errorf("task: map %q: %d groups for %d classes: want 2 <= K_m < K", name, km, k)
	}
	anc := make([]map[string]bool, k)
	for i, w := range sourceWnids {
		a, err := wn.Ancestors(w)
		if err != nil {
			return Map{}, fmt.Errorf("task: map %q: %w", name, err)
		}
		anc[i] = map[string]bool{w: true}
		for _, x := range a {
			anc[i][x] = true
		}
	}
	sim := make([][]float64, k)
	for i := range sim {
		sim[i] = make([]float64, k)
		for j := range sim[i] {
			if i == j {
				continue
			}
			shared := 0
			for x := range anc[i] {
				if anc[j][x] {
					shared++
				}
			}
			sim[i][j] = float64(shared) / float64(len(anc[i])+len(anc[j])-shared)
		}
	}
	table := Agglomerate(sim, km)
	names := groupNames(sourceWnids, table, km)
	// Prefer the lemma of the group's most specific common ancestor (the shared one with most ancestors).
	seen := map[string]bool{}
	for c := range km {
		g := []int{}
		for y, t := range table {
			if t == c {
				g = append(g, y)
			}
		}
		best, bestDepth := "", -1
		for x := range anc[g[0]] {
			common := true
			for _, y := range g[1:] {
				if !anc[y][x] {
					common = false
					break
				}
			}
			if !common {
				continue
			}
			a, err := wn.Ancestors(x)
			if err != nil {
				continue
			}
			if len(a) > bestDepth || len(a) == bestDepth && x < best {
				best, bestDepth = x, len(a)
			}
		}
		if best == "" {
			continue
		}
		lemma, err := wn.Lemma(best)
		if err != nil || seen[lemma] {
			continue
		}
		seen[lemma] = true
		names[c] = lemma
	}
	if err := checkClasses(names); err != nil { // two groups under the same lemma: fall back to member lists
		names = groupNames(sourceWnids, table, km)
	}
	desc := fmt.Sprintf("WordNet 3.0: average-linkage clustering by shared hypernyms into %d groups", km)
	return fromTable(name, desc, sourceWnids, names, table)
}
