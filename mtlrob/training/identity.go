package training

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// runIdentity is what a checkpoint directory's run.json records about the run beside its Config: the
// data it trains and is measured on, its tasks with their label maps, the network and the kind of
// training step, plus the caller's Config.Identity entries (which win on a name clash). Two runs with
// different identities never share a checkpoint directory.
func runIdentity(net *arch.Net, tasks task.Set, trainDS, testDS *datasets.Dataset, step Step, extra map[string]string) map[string]string {
	id := map[string]string{
		"train data": dataIdentity(trainDS),
		"test data":  dataIdentity(testDS),
		"tasks":      strings.Join(tasks.Names(), ","),
		"net":        net.String(),
		"training":   step.Name,
	}
	id["task "+task.MainName] = fmt.Sprintf("%s, %d classes %s", tasks.Main.Name, len(tasks.Main.ClassNames), strings.Join(tasks.Main.Classes(), ","))
	for _, m := range tasks.Aux {
		id["task "+m.Name] = auxTable(m)
	}
	maps.Copy(id, extra)
	return id
}

// auxTable writes a label map as its table, "a->top b->top c->bottom d->bottom".
func auxTable(m task.Map) string {
	parts := make([]string, len(m.Table))
	for y, t := range m.Table {
		target := "?"
		if t >= 0 && t < len(m.TargetClasses) {
			target = m.TargetClasses[t]
		}
		src := fmt.Sprint(y)
		if y < len(m.SourceClasses) {
			src = m.SourceClasses[y]
		}
		parts[y] = src + "->" + target
	}
	return strings.Join(parts, " ")
}

// dataIdentity names a split by its dataset, shape, size and a SHA-256 of its images and labels, so that
// another dataset, another subset or another preprocessing of the same one is told apart.
func dataIdentity(ds *datasets.Dataset) string {
	if ds == nil {
		return "none"
	}
	h := sha256.New()
	buf := make([]byte, 0, 4096)
	flush := func() { h.Write(buf); buf = buf[:0] }
	for _, v := range ds.Images {
		if len(buf)+4 > cap(buf) {
			flush()
		}
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	for _, l := range ds.Labels {
		if len(buf)+4 > cap(buf) {
			flush()
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(l))
	}
	flush()
	return fmt.Sprintf("%s/%s, %d examples %dx%dx%d, sha256 %s", ds.Name, ds.Split, ds.N, ds.Height, ds.Width, ds.Channels,
		hex.EncodeToString(h.Sum(nil))[:16])
}

// identityDiff lists the entries in which two identities differ, `tasks: "main,category" there,
// "main,region" now` (Go-quoted), sorted, or nil when they are equal. An entry missing on one side is shown as null.
func identityDiff(there, now map[string]string) []string {
	keys := slices.Collect(maps.Keys(there))
	for k := range now {
		if _, ok := there[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		a, inA := there[k]
		b, inB := now[k]
		if inA == inB && a == b {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: %s there, %s now", k, jsonOrNull(a, inA), jsonOrNull(b, inB)))
	}
	return diffs
}

func jsonOrNull(s string, ok bool) string {
	if !ok {
		return "null"
	}
	return strconv.Quote(s)
}
