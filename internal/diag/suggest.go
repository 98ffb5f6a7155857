package diag

import (
	"fmt"
	"strings"
)

// Suggest returns the candidate closest to word, or "" when none is close
// enough to be a likely typo. It backs the "did you mean" hints.
func Suggest(word string, candidates []string) string {
	best, bestDist := "", 0
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := levenshtein(lw, strings.ToLower(c))
		if best == "" || d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	// Allow roughly one edit in three characters, and at least one.
	limit := len(word) / 3
	if limit < 1 {
		limit = 1
	}
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// DidYouMean formats a fix hint: "did you mean "x"?" or, with no close
// candidate, the list of valid choices.
func DidYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return `did you mean "` + s + `"?`
	}
	if len(candidates) == 0 {
		return ""
	}
	// The choices themselves, rather than a pointer to documentation the
	// reader would have to find: names are short, and a long list is cut
	// with its size said.
	const shown = 30
	if len(candidates) > shown {
		return fmt.Sprintf("valid choices include %s, … (%d in all)", strings.Join(candidates[:shown], ", "), len(candidates))
	}
	return "valid choices: " + strings.Join(candidates, ", ")
}

// levenshtein is the edit distance of a and b, counting two swapped
// neighbours as one edit (the optimal string alignment distance): "biuld"
// is one typo away from "build", not two.
func levenshtein(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Hint is the did-you-mean the command line appends to a message about an
// unknown name: ` (did you mean "x"?)`, or "" when nothing is close.
func Hint(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}
