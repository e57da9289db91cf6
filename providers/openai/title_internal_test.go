package openai

import "testing"

func TestHTMLTitle(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"<html><head><TITLE>502 Bad Gateway</Title></head></html>", "502 Bad Gateway"},
		{"<title>ok</title>", "ok"},
		{"no title here", "no title here"},
		{"<title>never closed", "<title>never closed"},
		// Invalid UTF-8 before the tag: lower-casing it would change its
		// length and shift every index after it.
		{"\xcb\x12\xff\xfe<TITLE>503</TITLE>", "503"},
		{"<title>\xcb\x12\x17\xff</title>", "\xcb\x12\x17\xff"},
	} {
		if got := string(htmlTitle([]byte(tc.body))); got != tc.want {
			t.Errorf("htmlTitle(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
