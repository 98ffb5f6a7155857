package main

import "kiln.dev/kiln/internal/diag"

func suggest(word string, candidates []string) string { return diag.Suggest(word, candidates) }
