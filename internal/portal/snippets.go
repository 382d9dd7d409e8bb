package portal

import (
	"embed"
	"strings"
)

// The "how to verify" examples of the signing secret page. Each is a whole
// receiver that checks the Standard Webhooks signature of the raw body;
// snippets_test.go runs every one against signed requests.
//
//go:embed snippets
var snippetFiles embed.FS

// verifySnippet is one language's example.
type verifySnippet struct {
	ID       string // for the tab's id
	Language string
	Code     string
}

// verifySnippets returns the examples in the order the page shows them.
func verifySnippets() []verifySnippet {
	read := func(name string) string {
		b, err := snippetFiles.ReadFile("snippets/" + name)
		if err != nil {
			panic("portal: missing snippet " + name) // embedded at build time
		}
		return strings.TrimRight(string(b), "\n")
	}
	return []verifySnippet{
		{ID: "node", Language: "Node.js", Code: read("verify.mjs")},
		{ID: "go", Language: "Go", Code: read("verify.go.txt")},
		{ID: "python", Language: "Python", Code: read("verify.py")},
	}
}
