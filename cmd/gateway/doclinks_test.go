package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// markdownLink matches an inline Markdown link or image: its target is
// the second group (a title after the target is not used in these pages).
var markdownLink = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)`)

// codeSpan matches an inline code span, whose text is not Markdown.
var codeSpan = regexp.MustCompile("`[^`]*`")

// urlScheme matches the scheme of an absolute URL (http:, mailto:).
var urlScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

// headingText matches an ATX heading and captures its text.
var headingText = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)

// mdPage is one Markdown file of the documentation: its links and the
// anchors of its headings.
type mdPage struct {
	links   []mdLink
	anchors map[string]bool
}

// mdLink is one link of a page and the line it is on.
type mdLink struct {
	line   int
	target string
}

// parseMarkdown returns the links and heading anchors of a Markdown text,
// outside fenced code blocks and code spans. Anchors are made as GitHub
// makes them: the heading's text lower-cased, links reduced to their
// text, every character but letters, digits, spaces, hyphens and
// underscores dropped, spaces turned into hyphens, and "-1", "-2"… added
// to repeated ones.
func parseMarkdown(md string) mdPage {
	p := mdPage{anchors: map[string]bool{}}
	seen := map[string]int{}
	fence := ""
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		if m := headingText.FindStringSubmatch(line); m != nil {
			a := anchor(m[1])
			if n := seen[a]; n > 0 {
				p.anchors[fmt.Sprintf("%s-%d", a, n)] = true
			} else {
				p.anchors[a] = true
			}
			seen[a]++
		}
		for _, m := range markdownLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
			p.links = append(p.links, mdLink{line: i + 1, target: m[2]})
		}
	}
	return p
}

// anchor returns the anchor GitHub gives a heading with this text.
func anchor(heading string) string {
	heading = markdownLink.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"OpenAI- and Anthropic-compatible API":               "openai--and-anthropic-compatible-api",
		"Routing: experiments, prompt templates, enrichment": "routing-experiments-prompt-templates-enrichment",
		"LLMGatewayBudget80Percent":                          "llmgatewaybudget80percent",
		"A/B experiments: feedback and reports":              "ab-experiments-feedback-and-reports",
		"`make check` and [the suite](development.md)":       "make-check-and-the-suite",
		"Hot-path allocations":                               "hot-path-allocations",
	} {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
	p := parseMarkdown("# Logs\n\n```sh\n# not a heading\n[not](a-link.md)\n```\n## Logs\nsee [logs](#logs-1) and `[code](x.md)`\n")
	if want := map[string]bool{"logs": true, "logs-1": true}; !mapsEqual(p.anchors, want) {
		t.Errorf("anchors %v, want %v", p.anchors, want)
	}
	if want := []mdLink{{line: 8, target: "#logs-1"}}; !slices.Equal(p.links, want) {
		t.Errorf("links %v, want %v", p.links, want)
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestDocsLinks checks every relative link of README.md and docs/*.md: the
// file or directory it names exists, and an anchor names a heading of the
// page it points at. It also checks that README.md links every page of
// docs/, its map of the documentation.
func TestDocsLinks(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no pages in docs/")
	}
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	pages := map[string]mdPage{}
	parse := func(path string) (mdPage, error) {
		if p, ok := pages[path]; ok {
			return p, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return mdPage{}, err
		}
		pages[path] = parseMarkdown(string(b))
		return pages[path], nil
	}
	linkedFromReadme := map[string]bool{}
	checked := 0
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		page, err := parse(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page.links {
			if urlScheme.MatchString(l.target) {
				continue // http:, https:, mailto:
			}
			checked++
			where := fmt.Sprintf("%s:%d: %s", rel, l.line, l.target)
			path, frag, _ := strings.Cut(l.target, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(target); err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if file == files[0] {
					linkedFromReadme[target] = true
				}
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				t.Errorf("%s: an anchor on a file that is not Markdown", where)
				continue
			}
			tp, err := parse(target)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if !tp.anchors[frag] {
				t.Errorf("%s: no heading with the anchor #%s", where, frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found")
	}
	for _, d := range docs {
		if !linkedFromReadme[d] {
			rel, _ := filepath.Rel(root, d)
			t.Errorf("README.md does not link %s", rel)
		}
	}
}
