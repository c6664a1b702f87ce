package conformance

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ContextSizeLimit is the build context size above which `mage check`
// warns (context-size): 50 MB. A Go service's sources are a few MB; more
// is nearly always a build output (a binary in bin/), a dependency tree
// (node_modules) or data, which every build uploads to BuildKit and whose
// every change misses the cache of `COPY . .`.
const ContextSizeLimit = 50_000_000

// CheckContextSize applies the context-size rule to the files BuildKit
// would send (as the .dockerignore at path leaves them): over
// ContextSizeLimit, it warns, naming the biggest top-level entries and
// files, and suggests the lines that would keep them out.
func CheckContextSize(path string, sent []sentFile) []Finding {
	var total int64
	byEntry := map[string]int64{}
	for _, f := range sent {
		total += f.size
		byEntry[topLevelEntry(f.path)] += f.size
	}
	if total <= ContextSizeLimit {
		return nil
	}
	entries := slices.SortedFunc(maps.Keys(byEntry), func(a, b string) int {
		return cmp.Or(cmp.Compare(byEntry[b], byEntry[a]), cmp.Compare(a, b))
	})
	files := slices.SortedFunc(slices.Values(sent), func(a, b sentFile) int {
		return cmp.Or(cmp.Compare(b.size, a.size), cmp.Compare(a.path, b.path))
	})
	const shown = 3
	var big, ignore []string
	// Only what weighs (a twentieth of the whole, at least the biggest):
	// the sources themselves are worth sending.
	weighs := func(i int, size int64) bool { return i == 0 || size*20 >= total }
	for i, e := range entries[:min(shown, len(entries))] {
		if weighs(i, byEntry[e]) {
			big = append(big, fmt.Sprintf("%s %s", e, megabytes(byEntry[e])))
			ignore = append(ignore, "`"+e+"`")
		}
	}
	var biggest []string
	for i, f := range files[:min(shown, len(files))] {
		if weighs(i, f.size) {
			biggest = append(biggest, fmt.Sprintf("%s %s", f.path, megabytes(f.size)))
		}
	}
	fix := fmt.Sprintf("add to .dockerignore what the image does not need to build, e.g. %s", strings.Join(ignore, ", "))
	if _, ok := byEntry["bin/"]; ok {
		fix += "; `bin/` in particular: `mage build` writes binaries there, and the image builds its own"
	}
	return []Finding{{Severity: Warning, Rule: RuleContextSize, Path: path,
		Message: fmt.Sprintf("BuildKit would send %s with the build context, over %s: biggest %s (files: %s); every build uploads it", megabytes(total), megabytes(ContextSizeLimit), strings.Join(big, ", "), strings.Join(biggest, ", ")),
		Fix:     fix}}
}

// topLevelEntry is the first element of a slash-separated path, with a
// trailing slash for a directory, as a .dockerignore line names it.
func topLevelEntry(path string) string {
	if first, _, nested := strings.Cut(path, "/"); nested {
		return first + "/"
	}
	return path
}

// megabytes formats a size in MB (10^6 bytes), as the limit is given;
// below 0.1 MB, in kB.
func megabytes(n int64) string {
	if n < 100_000 {
		return fmt.Sprintf("%d kB", (n+500)/1000)
	}
	if n < 10_000_000 {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d MB", (n+500_000)/1_000_000)
}
